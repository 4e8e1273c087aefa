"""The report tallies (migration 0010) and stored durations (0009), kept in the same transaction as the change they
count, so `/referrals stats` never reads every referral and its figures are never ahead of or behind the data.

A referral is counted on the day it arrived (UTC, the first ten characters of its timestamp) under its variant;
its claim, contact and conversion move that day's counts when they happen, however much later."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from bot.core.models import Referral
from storage.migrations import Dialect, load_migrations
from storage.rows import to_db
from storage.sql_base import SqlBase

STEPS = ("claimed", "contacted", "converted")  # each counted when its `<step>_at` is set
SHARDS = 8  # rows per day and variant: a change takes one at random, so concurrent writers rarely share a row lock
_COUNT = ", ".join(f"{name} = referral_tallies.{name} + excluded.{name}" for name in ("arrived", *STEPS))
_ADD = (
    "INSERT INTO referral_tallies (day, variant, shard, arrived, claimed, contacted, converted)"
    f" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, variant, shard) DO UPDATE SET {_COUNT}"
)


# A referral `r` that breached its SLA: one of its own timers fired. COALESCE keeps the planner on the referral's
# own timers (by referral id) rather than reading every fired timer through the status index.
BREACHED = "EXISTS (SELECT 1 FROM sla_timers t WHERE t.referral_id = r.id AND COALESCE(t.status, '') = 'fired')"


# One row per referrer, not sharded: arrivals for one referrer are few at a time (the velocity limit holds them to
# tens an hour), and the leaderboard reads the rows in rank order from one index.
_ADVOCATE = (
    "INSERT INTO advocate_tallies (referrer_id, referrals, converted) VALUES (?, ?, ?) ON CONFLICT (referrer_id)"
    " DO UPDATE SET referrals = advocate_tallies.referrals + excluded.referrals,"
    " converted = advocate_tallies.converted + excluded.converted"
)


def _advocate_counts(status: str) -> tuple[int, int]:
    """What a referral in `status` adds to its referrer's leaderboard line: (referrals, converted)."""
    return int(status != "rejected"), int(status == "converted")


def day_of(at: datetime) -> str:
    return str(to_db(at))[:10]  # as stored, so the day always matches the row's own timestamp


def _shard() -> int:
    return random.randrange(SHARDS)  # any shard will do: the reads sum them


def _seconds(since: datetime, at: datetime | None) -> float | None:
    return (at - since).total_seconds() if at is not None else None


_RESET = (
    "DELETE FROM referral_tallies",
    "DELETE FROM advocate_tallies",
    "DELETE FROM share_tallies",
    "DELETE FROM source_tallies",
    "UPDATE referrals SET claim_seconds = NULL, contact_seconds = NULL"
    " WHERE claim_seconds IS NOT NULL OR contact_seconds IS NOT NULL",
)


def recount_statements(dialect: Dialect) -> tuple[str, ...]:
    """Everything counted again from the rows by the migrations' own backfill: for a bulk load that wrote rows
    directly, for rows an operator changed by hand, and to check the counts kept change by change."""
    backfills = {
        "0009_stored_durations": "UPDATE",
        "0010_report_tallies": "INSERT",
        "0012_advocate_tallies": "INSERT",
        "0018_referral_sources": "INSERT",
    }
    return _RESET + tuple(
        statement
        for migration in load_migrations(dialect)
        if migration.name in backfills
        for statement in migration.statements
        if statement.startswith(backfills[migration.name])
    )


class TallySql(SqlBase):
    async def _count_arrival(self, referral: Referral) -> dict[str, Any]:
        """Counts a new referral; returns its stored durations, for its row."""
        steps = [int(getattr(referral, f"{step}_at") is not None) for step in STEPS]
        await self._db.execute(_ADD, (day_of(referral.created_at), referral.variant or "", _shard(), 1, *steps))
        await self._db.execute(_ADVOCATE, (referral.referrer_id, *_advocate_counts(referral.status)))
        return {
            "claim_seconds": _seconds(referral.created_at, referral.claimed_at),
            "contact_seconds": _seconds(referral.created_at, referral.contacted_at),
        }

    async def _count_steps(self, referral_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Counts the steps a change reaches or undoes, and moves its referrer's leaderboard counts; returns the
        durations to store with it."""
        if not any(f"{step}_at" in changes for step in STEPS) and not changes.keys() & {"status", "referrer_id"}:
            return {}
        before = await self._one(
            "SELECT created_at, variant, claimed_at, contacted_at, converted_at, status, referrer_id FROM referrals"
            f" WHERE id = ?{self._lock}",
            referral_id,
        )
        if before is None:
            return {}
        await self._count_advocates(before, changes)
        moved = [self._moved(before, changes, step) for step in STEPS]
        if any(moved):
            day, variant = before["created_at"][:10], before["variant"] or ""
            await self._db.execute(_ADD, (day, variant, _shard(), 0, *moved))
        arrived = datetime.fromisoformat(before["created_at"])
        durations = {}
        if "claimed_at" in changes:
            durations["claim_seconds"] = _seconds(arrived, changes["claimed_at"])
        if "contacted_at" in changes:
            durations["contact_seconds"] = _seconds(arrived, changes["contacted_at"])
        return durations

    async def _count_advocates(self, before: dict[str, Any], changes: dict[str, Any]) -> None:
        """Moves the referral's leaderboard counts when its status or its referrer (last touch) changes."""
        referrer = changes.get("referrer_id", before["referrer_id"])
        was, now = _advocate_counts(before["status"]), _advocate_counts(str(changes.get("status", before["status"])))
        if referrer != before["referrer_id"]:
            await self._db.execute(_ADVOCATE, (before["referrer_id"], -was[0], -was[1]))
            was = (0, 0)
        if now != was:
            await self._db.execute(_ADVOCATE, (referrer, now[0] - was[0], now[1] - was[1]))

    @staticmethod
    def _moved(before: dict[str, Any], changes: dict[str, Any], step: str) -> int:
        column = f"{step}_at"
        if column not in changes:
            return 0
        return int(changes[column] is not None) - int(before[column] is not None)

    async def _count_breach(self, timer_id: str) -> None:
        """A timer is about to fire: its referral breached, unless another of its timers fired already."""
        await self._db.execute(
            "INSERT INTO referral_tallies (day, variant, shard, breached)"
            " SELECT substr(r.created_at, 1, 10), COALESCE(r.variant, ''), CAST(? AS INTEGER), 1 FROM sla_timers t"
            f" JOIN referrals r ON r.id = t.referral_id WHERE t.id = ? AND NOT {BREACHED}"
            " ON CONFLICT (day, variant, shard) DO UPDATE SET breached = referral_tallies.breached + 1",
            (_shard(), timer_id),
        )

    async def _count_share(self, customer_id: int, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO share_tallies (day, variant, shard, shares)"
            " SELECT ?, COALESCE(MAX(variant), ''), CAST(? AS INTEGER), 1 FROM customers WHERE telegram_id = ?"
            " ON CONFLICT (day, variant, shard) DO UPDATE SET shares = share_tallies.shares + 1",
            (day_of(at), _shard(), customer_id),
        )
