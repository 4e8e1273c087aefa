"""The figures managers ask for: the funnel, the leaderboard, what is pending, how fast reps are,
and the full tracking trail as CSV. Read-only, portable SQL."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.reports.tallies import (
    Counts,
    Duration,
    counts_by_variant,
    median_minutes,
    rep_median_minutes,
    since_text,
    total,
)
from storage.base import Store

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "all": None}


@dataclass(frozen=True)
class Period:
    label: str
    since: datetime | None


def parse_period(text: str, now: datetime, default: str = "30d") -> Period | None:
    """7d, 30d, 90d or all (or any Nd); None when it is not a period."""
    word = (text or default).strip().lower()
    if word in PERIODS:
        days = PERIODS[word]
    elif re.fullmatch(r"[1-9]\d{0,3}d", word):
        days = int(word[:-1])
    else:
        return None
    return Period(word, now - timedelta(days=days) if days else None)


@dataclass(frozen=True)
class Funnel:
    period: str
    shared: int
    arrived: int
    claimed: int
    contacted: int
    converted: int
    median_claim_minutes: float | None
    median_contact_minutes: float | None
    sla_breaches: int

    # None before anything arrived: a rate of nothing is not 0%, and the templates say "n/a".
    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.arrived if self.arrived else None

    @property
    def breach_share(self) -> float | None:
        return self.sla_breaches / self.arrived if self.arrived else None


def _since(period: Period) -> str:
    return since_text(period.since)


async def funnel(store: Store, period: Period, by_variant: dict[str, Counts] | None = None) -> Funnel:
    """Counted from the tallies kept as referrals move (`by_variant`: already read for this period); the
    medians step through the stored durations' index."""
    counts = total(by_variant if by_variant is not None else await counts_by_variant(store, period.since))
    return Funnel(
        period=period.label,
        shared=counts.shares,
        arrived=counts.arrived,
        claimed=counts.claimed,
        contacted=counts.contacted,
        converted=counts.converted,
        median_claim_minutes=await median_minutes(store, "claim_seconds", period.since, counts.claimed),
        median_contact_minutes=await median_minutes(store, "contact_seconds", period.since, counts.contacted),
        sla_breaches=counts.breached,
    )


async def leaderboard(store: Store, limit: int) -> list[dict[str, Any]]:
    # The advocates' counts are kept as referrals move (advocate_tallies). The limit-th line's counts are found in
    # the rank index, then only advocates at or above it are joined and sorted, ties on the last line included.
    return await store.fetch_all(
        "WITH last_line AS (SELECT converted, referrals FROM advocate_tallies WHERE referrals > 0"
        " ORDER BY converted DESC, referrals DESC LIMIT 1 OFFSET ?),"
        " cut AS (SELECT COALESCE(MAX(converted), 0) AS converted, COALESCE(MAX(referrals), 0) AS referrals"
        " FROM last_line)"
        " SELECT c.first_name, c.last_name, c.username, c.segment, t.referrals, t.converted"
        " FROM cut, advocate_tallies t JOIN customers c ON c.telegram_id = t.referrer_id"
        " WHERE t.referrals > 0 AND t.converted >= cut.converted"
        " AND (t.converted > cut.converted OR t.referrals >= cut.referrals)"
        " ORDER BY t.converted DESC, t.referrals DESC, c.first_name LIMIT ?",
        limit - 1,
        limit,
    )


async def pending(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """Unclaimed and uncontacted referrals, oldest first. Each status is read oldest-first from its index and
    cut at the limit before merging, so a large backlog is never sorted whole."""
    oldest = "SELECT * FROM (SELECT id FROM referrals WHERE status = '{}' ORDER BY created_at LIMIT ?) AS {}"
    return await store.fetch_all(
        "SELECT r.id, r.status, r.assignee, r.created_at, r.claimed_at, r.friend_name,"
        " f.first_name AS friend_first_name, c.first_name AS referrer_name"
        f" FROM ({oldest.format('new', 'n')} UNION ALL {oldest.format('claimed', 'c')}) AS o"
        " JOIN referrals r ON r.id = o.id JOIN customers c ON c.telegram_id = r.referrer_id"
        " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        " ORDER BY r.created_at LIMIT ?",
        limit,
        limit,
        limit,
    )


@dataclass(frozen=True)
class RepFigures:
    rep: str
    claimed: int
    median_claim_minutes: float | None
    median_contact_minutes: float | None
    converted: int


_REPS = (
    "SELECT assignee, COUNT(*) AS claimed, SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END) AS converted,"
    " COUNT(claim_seconds) AS timed_claims,"
    " COUNT(CASE WHEN claim_seconds IS NOT NULL THEN contact_seconds END) AS timed_contacts"
    " FROM referrals WHERE assignee IS NOT NULL AND created_at >= ? GROUP BY assignee"
)
# A rep's durations: time to claim, and from claim to contact, with the terms that match migration 0011's indexes.
_TO_CLAIM = Duration("claim_seconds", "claim_seconds IS NOT NULL")
_TO_CONTACT = Duration("contact_seconds - claim_seconds", "contact_seconds IS NOT NULL AND claim_seconds IS NOT NULL")


async def reps(store: Store, period: Period) -> list[RepFigures]:
    """Each rep's referrals of the period: counted from an index, the medians read from the middle of their own."""
    since = _since(period)
    figures = []
    for row in await store.fetch_all(_REPS, since):
        rep = str(row["assignee"])
        claim = await rep_median_minutes(store, _TO_CLAIM, rep, since, int(row["timed_claims"]))
        contact = await rep_median_minutes(store, _TO_CONTACT, rep, since, int(row["timed_contacts"]))
        figures.append(RepFigures(rep, int(row["claimed"]), claim, contact, int(row["converted"] or 0)))
    return sorted(figures, key=lambda f: (-f.converted, f.median_claim_minutes or 0.0))


def _cell(value: Any) -> Any:
    """A name such as "=HYPERLINK(...)" must stay text when the file is opened in a spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


EXPORT_COLUMNS = (
    "event_at",
    "event",
    "from_status",
    "by",
    "referral_id",
    "referred_at",
    "referrer_id",
    "referrer_name",
    "friend_telegram_id",
    "friend_name",
    "source",
    "channel",
    "status_now",
    "assignee",
    "deal_value",
    "detail",
)


async def export_csv(store: Store, period: Period) -> str:
    """Who referred whom and when, and every status change with who made it: one line per event."""
    rows = await store.fetch_all(
        "SELECT e.created_at AS event_at, e.kind, e.actor, e.data, r.id, r.created_at, r.referrer_id,"
        " c.first_name AS referrer_name, r.friend_telegram_id, COALESCE(f.first_name, r.friend_name) AS friend,"
        " r.source, r.channel, r.status, r.assignee, r.deal_value"
        " FROM events e JOIN referrals r ON r.id = e.subject JOIN customers c ON c.telegram_id = r.referrer_id"
        " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        " WHERE e.kind IN ('referral.created', 'referral.status', 'referral.reattributed') AND r.created_at >= ?"
        " ORDER BY r.created_at, r.id, e.created_at",
        _since(period),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows([_cell(value) for value in _export_line(row)] for row in rows)
    return out.getvalue()


def _export_line(row: dict[str, Any]) -> list[Any]:
    data = json.loads(row["data"])
    kind = row["kind"]
    event = "reattributed" if kind == "referral.reattributed" else data.get("status", "created")
    from_status = data.get("previous", "") if kind == "referral.status" else ""
    detail = "; ".join(f"{k}={v}" for k, v in data.items() if k in ("reason", "deal_value"))
    if kind == "referral.reattributed":
        detail = f"previous_referrer={data.get('previous')}"
    return [
        row["event_at"],
        event,
        from_status,
        row["actor"],
        row["id"],
        row["created_at"],
        row["referrer_id"],
        row["referrer_name"],
        row["friend_telegram_id"] or "",
        row["friend"] or "",
        row["source"],
        row["channel"],
        row["status"],
        row["assignee"] or "",
        row["deal_value"] or "",
        detail,
    ]
