"""The figures managers ask for: the funnel, the leaderboard, what is pending, how fast reps are,
and the full tracking trail as CSV. Read-only: the queries are the storage's (storage/report_sql.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.figures import AdvocateLine, ExportLine
from bot.core.validation import parse_count
from bot.reports.tallies import Counts, counts_by_variant, total
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
    elif word.endswith("d") and (count := parse_count(word[:-1], 1, 9999)) is not None:
        days = count
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
        median_claim_minutes=await store.median_minutes("claim", period.since, counts.claimed),
        median_contact_minutes=await store.median_minutes("contact", period.since, counts.contacted),
        sla_breaches=counts.breached,
    )


async def leaderboard(store: Store, limit: int) -> list[AdvocateLine]:
    return await store.leaderboard(limit)


async def pending(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """Unclaimed and uncontacted referrals, oldest first, as dicts the callers extend with what they show."""
    return [dict(vars(line)) for line in await store.pending_referrals(limit)]  # flat: no deep copy


@dataclass(frozen=True)
class RepFigures:
    rep: str
    claimed: int
    median_claim_minutes: float | None
    median_contact_minutes: float | None
    converted: int


async def reps(store: Store, period: Period) -> list[RepFigures]:
    """Each rep's referrals of the period: counted from an index, the medians read from the middle of their own."""
    figures = []
    for counts in await store.rep_counts(period.since):
        rep = counts.assignee
        claim = await store.median_minutes("claim", period.since, counts.timed_claims, rep)
        contact = await store.median_minutes("claim_to_contact", period.since, counts.timed_contacts, rep)
        figures.append(RepFigures(rep, counts.claimed, claim, contact, counts.converted))
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
    # Added later, so at the end: a sheet that reads the columns by position keeps working.
    "referrer_email",
    "friend_contact_kind",
    "friend_contact",
    "friend_phone",
    "friend_consent_text",
    "friend_consent_at",
)


async def export_csv(store: Store, period: Period, header: Sequence[str] = EXPORT_COLUMNS) -> str:
    """Who referred whom and when, and every status change with who made it: one line per event. `header` names the
    columns for a person (in their language); by default it is the keys scripts look columns up by."""
    rows = await store.export_lines(period.since)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in _export_line(row)] for row in rows)
    return out.getvalue()


def _export_line(row: ExportLine) -> list[Any]:
    data = json.loads(row.data)
    kind = row.kind
    event = "reattributed" if kind == "referral.reattributed" else data.get("status", "created")
    from_status = data.get("previous", "") if kind == "referral.status" else ""
    detail = "; ".join(f"{k}={v}" for k, v in data.items() if k in ("reason", "deal_value"))
    if kind == "referral.reattributed":
        detail = f"previous_referrer={data.get('previous')}"
    consented = row.friend_consent_at is not None  # a contact only when the friend agreed to be contacted
    return [
        row.event_at,
        event,
        from_status,
        row.actor,
        row.id,
        row.created_at,
        _telegram_id(row.referrer_id),
        row.referrer_name,
        _telegram_id(row.friend_telegram_id),
        row.friend or "",
        row.source,
        row.channel,
        row.status,
        row.assignee or "",
        row.deal_value or "",
        detail,
        row.referrer_email or "",
        *((row.friend_contact_kind, row.friend_contact, row.friend_phone) if consented else ("", "", "")),
        row.friend_consent_text or "",
        row.friend_consent_at or "",
    ]


def _telegram_id(value: int | None) -> int | str:
    """A Telegram user id, or nothing: an advocate imported by e-mail has none yet, and a forgotten person's record
    keeps only a pseudonym (both ids below zero), which no operator can look anyone up by."""
    return value if value is not None and value > 0 else ""
