"""Where referrals come from and what they are worth (migration 0018): the source tallies, kept in the same
transaction as each arrival, conversion, issued reward and ask, and read back per share channel and prompting ask.

A referral is counted on the day it arrived (UTC) under its channel and the ask that prompted it ('' for none): its
conversion, deal value and issued rewards' cost move that day's counts when they happen. Asks are counted on the day
they were sent, under channel '' and their reason. Money is kept in cents, so sums are exact on every backend."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.core.figures import CampaignLine, DayCounts, SourceCounts
from bot.core.models import Referral, Reward
from storage.rows import to_db
from storage.sql_base import Scans, SqlBase
from storage.tally_sql import SHARDS, day_of

_COUNTED = ("asked", "arrived", "converted", "revenue_cents", "reward_cents", "unpriced_rewards")
_ADD = (
    f"INSERT INTO source_tallies (day, channel, prompted_by, shard, {', '.join(_COUNTED)})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, channel, prompted_by, shard) DO UPDATE SET "
    + ", ".join(f"{name} = source_tallies.{name} + excluded.{name}" for name in _COUNTED)
)
# The columns a referral's source counts depend on: a change to any other leaves them alone.
_SOURCE_COLUMNS = frozenset({"channel", "prompted_by", "converted_at", "deal_value"})


def cents(amount: Any) -> int:
    """Stored decimal text (or a Decimal) as whole cents; nothing counts as none."""
    return int((Decimal(str(amount)) * 100).to_integral_value()) if amount is not None else 0


def _share(row: dict[str, Any]) -> dict[str, int]:
    """What a referral, as stored, adds to its source's counts (its rewards aside)."""
    converted = row["converted_at"] is not None
    return {"arrived": 1, "converted": int(converted), "revenue_cents": cents(row["deal_value"]) if converted else 0}


def _reward_counts(costs: Sequence[Any], sign: int) -> dict[str, int]:
    """Issued rewards' cost in cents, and how many have none stated, each times `sign`."""
    priced = [cost for cost in costs if cost is not None]
    return {
        "reward_cents": sign * sum(cents(cost) for cost in priced),
        "unpriced_rewards": sign * (len(costs) - len(priced)),
    }


class SourceTallySql(SqlBase):
    async def _count(self, day: str, channel: str, prompted_by: str | None, **counts: int) -> None:
        if any(counts.values()):
            values = [counts.get(name, 0) for name in _COUNTED]
            await self._db.execute(_ADD, (day, channel, prompted_by or "", random.randrange(SHARDS), *values))

    async def _count_source_arrival(self, referral: Referral) -> None:
        converted = referral.converted_at is not None
        await self._count(
            day_of(referral.created_at),
            referral.channel,
            referral.prompted_by,
            arrived=1,
            converted=int(converted),
            revenue_cents=cents(referral.deal_value) if converted else 0,
        )

    async def _count_source_change(self, referral_id: str, changes: dict[str, Any]) -> None:
        """Moves the referral's counts when it converts (with its deal value), or when its channel or prompt change
        (the credit moved to another referrer's link): then its issued rewards' cost moves with it."""
        if not changes.keys() & _SOURCE_COLUMNS:
            return
        before = await self._one(
            "SELECT created_at, channel, prompted_by, converted_at, deal_value FROM referrals WHERE id = ?", referral_id
        )
        if before is None:
            return
        after = {**before, **{key: to_db(value) for key, value in changes.items() if key in _SOURCE_COLUMNS}}
        day, was, now = before["created_at"][:10], _share(before), _share(after)
        if (after["channel"], after["prompted_by"] or "") == (before["channel"], before["prompted_by"] or ""):
            await self._count(day, before["channel"], before["prompted_by"], **{k: now[k] - was[k] for k in now})
            return
        rewards = await self._issued_reward_counts(referral_id)
        await self._count(
            day, before["channel"], before["prompted_by"], **{k: -v for k, v in {**was, **rewards}.items()}
        )
        await self._count(day, after["channel"], after["prompted_by"], **now, **rewards)

    async def _issued_reward_counts(self, referral_id: str) -> dict[str, int]:
        rows = await self._db.fetch_all(
            "SELECT cost FROM rewards WHERE referral_id = ? AND status = 'issued'", (referral_id,)
        )
        return _reward_counts([row["cost"] for row in rows], 1)

    async def _count_new_reward(self, reward: Reward) -> None:
        """A reward stored already issued: its cost is counted under its referral at once."""
        if reward.status == "issued":
            await self._count_reward_of(reward.referral_id, to_db(reward.cost), 1)

    async def _count_reward_change(self, reward_id: str, changes: dict[str, Any]) -> None:
        """A reward becomes issued (or, set right by hand, stops being): its cost is counted under its referral."""
        if "status" not in changes:
            return
        row = await self._one("SELECT referral_id, status, cost FROM rewards WHERE id = ?", reward_id)
        if row is None:
            return
        change = int(changes["status"] == "issued") - int(row["status"] == "issued")
        if change:
            await self._count_reward_of(row["referral_id"], to_db(changes.get("cost", row["cost"])), change)

    async def _count_reward_of(self, referral_id: str, cost: Any, sign: int) -> None:
        referral = await self._one("SELECT created_at, channel, prompted_by FROM referrals WHERE id = ?", referral_id)
        if referral is not None:
            counts = _reward_counts([cost], sign)
            await self._count(referral["created_at"][:10], referral["channel"], referral["prompted_by"], **counts)

    async def _count_ask(self, kind: str, reason: str, at: datetime) -> None:
        if kind == "ask":  # a follow-up reminds of its ask: one ask, one request
            await self._count(day_of(at), "", reason, asked=1)

    async def latest_ask_reason(self, customer_id: int, since: datetime) -> str | None:
        row = await self._one(
            "SELECT reason FROM asks WHERE customer_id = ? AND kind = 'ask' AND created_at >= ?"
            " ORDER BY created_at DESC LIMIT 1",
            customer_id,
            to_db(since),
        )
        return str(row["reason"]) if row else None


_OF_DAYS = (
    f"SELECT channel, prompted_by, {', '.join(f'SUM({name}) AS {name}' for name in _COUNTED)}"
    " FROM source_tallies WHERE day >= ? GROUP BY channel, prompted_by"
)
_DEAL_CENTS = "CAST(ROUND(CAST(deal_value AS NUMERIC) * 100) AS BIGINT)"
_REFERRALS_BETWEEN = (
    "SELECT channel, COALESCE(prompted_by, '') AS prompted_by, COUNT(*) AS arrived, COUNT(converted_at) AS converted,"
    f" SUM(CASE WHEN converted_at IS NULL OR deal_value IS NULL THEN 0 ELSE {_DEAL_CENTS} END) AS revenue_cents"
    " FROM referrals WHERE created_at >= ? AND created_at < ? GROUP BY channel, COALESCE(prompted_by, '')"
)
_REWARDS_BETWEEN = (
    "SELECT r.channel, COALESCE(r.prompted_by, '') AS prompted_by,"
    " SUM(CASE WHEN w.cost IS NULL THEN 0 ELSE CAST(ROUND(CAST(w.cost AS NUMERIC) * 100) AS BIGINT) END)"
    " AS reward_cents, SUM(CASE WHEN w.cost IS NULL THEN 1 ELSE 0 END) AS unpriced_rewards"
    " FROM referrals r JOIN rewards w ON w.referral_id = r.id"
    " WHERE r.created_at >= ? AND r.created_at < ? AND w.status = 'issued'"
    " GROUP BY r.channel, COALESCE(r.prompted_by, '')"
)
# COALESCE keeps the planner on the time index: the kind's (asks_open) would read every ask ever sent.
_ASKS_BETWEEN = (
    "SELECT '' AS channel, reason AS prompted_by, COUNT(*) AS asked FROM asks"
    " WHERE created_at >= ? AND created_at < ? AND COALESCE(kind, '') = 'ask' GROUP BY reason"
)


# The weekly chart's days: a year is a few thousand tally rows, summed to one row a day from the (day, ...) key.
_BY_DAY = (
    "SELECT day, SUM(arrived) AS arrived, SUM(converted) AS converted, SUM(revenue_cents) AS revenue_cents"
    " FROM source_tallies WHERE day >= ? GROUP BY day ORDER BY day"
)


def _add(found: dict[tuple[str, str], SourceCounts], rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        key = (str(row["channel"]), str(row["prompted_by"]))
        counted = SourceCounts(*key, *(int(row.get(name) or 0) for name in _COUNTED))
        found[key] = found[key] + counted if key in found else counted


class SourceScans(Scans):
    async def source_counts(self, since: datetime | None) -> list[SourceCounts]:
        first_whole_day = ""
        found: dict[tuple[str, str], SourceCounts] = {}
        if since is not None:
            start = str(to_db(since))
            first_whole_day = (date.fromisoformat(day_of(since)) + timedelta(days=1)).isoformat()
            for sql in (_REFERRALS_BETWEEN, _REWARDS_BETWEEN, _ASKS_BETWEEN):
                _add(found, await self._rows(sql, start, first_whole_day))
        _add(found, await self._rows(_OF_DAYS, first_whole_day))
        return list(found.values())

    async def arrivals_by_day(self, since: date | None) -> list[DayCounts]:
        rows = await self._rows(_BY_DAY, since.isoformat() if since else "")
        return [
            DayCounts(str(row["day"]), int(row["arrived"]), int(row["converted"]), int(row["revenue_cents"]))
            for row in rows
        ]

    async def campaigns(self, ids: Sequence[str]) -> list[CampaignLine]:
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = await self._rows(
            f"SELECT subject, data, created_at FROM events WHERE subject IN ({marks}) AND kind = 'ask.campaign'",
            *ids,
        )
        return [
            CampaignLine(str(row["subject"]), str(json.loads(row["data"]).get("segment", "")), row["created_at"])
            for row in rows
        ]
