"""The funnel's counts per variant over a period, read from the tallies the storage keeps (storage/tally_sql.py).

Whole days come from the tallies; the period's first day, which starts part-way through, is counted from the
referrals and shares themselves, a day's worth of rows read from their time index. Medians read the stored
durations from their index, stepping to the middle one."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from storage.base import Store
from storage.rows import to_db
from storage.tally_sql import BREACHED, day_of

_REFERRALS_OF_DAYS = (
    "SELECT variant, SUM(arrived) AS arrived, SUM(claimed) AS claimed, SUM(contacted) AS contacted,"
    " SUM(converted) AS converted, SUM(breached) AS breached FROM referral_tallies WHERE day >= ? GROUP BY variant"
)
_SHARES_OF_DAYS = "SELECT variant, SUM(shares) AS shares FROM share_tallies WHERE day >= ? GROUP BY variant"
_REFERRALS_BETWEEN = (
    "SELECT COALESCE(r.variant, '') AS variant, COUNT(*) AS arrived, COUNT(r.claimed_at) AS claimed,"
    " COUNT(r.contacted_at) AS contacted, COUNT(r.converted_at) AS converted,"
    f" SUM(CASE WHEN {BREACHED} THEN 1 ELSE 0 END) AS breached"
    " FROM referrals r WHERE r.created_at >= ? AND r.created_at < ? GROUP BY COALESCE(r.variant, '')"
)
_SHARES_BETWEEN = (
    "SELECT COALESCE(c.variant, '') AS variant, COUNT(*) AS shares FROM share_events s"
    " LEFT JOIN customers c ON c.telegram_id = s.customer_id"
    " WHERE s.created_at >= ? AND s.created_at < ? GROUP BY COALESCE(c.variant, '')"
)


@dataclass(frozen=True)
class Counts:
    shares: int = 0
    arrived: int = 0  # referrals that arrived in the period; the steps below count those of them that got there
    claimed: int = 0
    contacted: int = 0
    converted: int = 0
    breached: int = 0  # at least one SLA timer fired

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


async def counts_by_variant(store: Store, since: datetime | None) -> dict[str, Counts]:
    """Counts per variant ('' for referrals with none) of what arrived and was shared from `since` on."""
    first_whole_day = ""
    found: dict[str, Counts] = {}
    if since is not None:
        start = str(to_db(since))
        first_whole_day = (date.fromisoformat(day_of(since)) + timedelta(days=1)).isoformat()
        _add(found, await store.fetch_all(_REFERRALS_BETWEEN, start, first_whole_day))
        _add(found, await store.fetch_all(_SHARES_BETWEEN, start, first_whole_day))
    _add(found, await store.fetch_all(_REFERRALS_OF_DAYS, first_whole_day))
    _add(found, await store.fetch_all(_SHARES_OF_DAYS, first_whole_day))
    return found


def _add(found: dict[str, Counts], rows: list[dict[str, object]]) -> None:
    for row in rows:
        variant = str(row["variant"])
        counted = Counts(**{k: int(v or 0) for k, v in row.items() if k != "variant"})  # type: ignore[call-overload]
        found[variant] = found.get(variant, Counts()) + counted


def total(counts: dict[str, Counts]) -> Counts:
    return sum(counts.values(), Counts())


@dataclass(frozen=True)
class Duration:
    """A stored duration in seconds, as SQL, and the terms that say a referral has it."""

    seconds: str
    present: str


async def median_minutes(store: Store, column: str, since: datetime | None, count: int) -> float | None:
    """The median of a stored duration (claim_seconds, contact_seconds) over the `count` referrals that have it
    and arrived from `since` on: the index is walked in order to the middle, not read whole."""
    return await _middle(store, Duration(column, f"{column} IS NOT NULL"), since_text(since), count)


async def rep_median_minutes(store: Store, duration: Duration, rep: str, since: str, count: int) -> float | None:
    """The same over one rep's `count` referrals that have the duration, walked in that rep's own index."""
    return await _middle(store, duration, since, count, rep)


def since_text(since: datetime | None) -> str:
    return str(to_db(since)) if since else ""  # every stored timestamp sorts after ''


async def _middle(store: Store, duration: Duration, since: str, count: int, rep: str | None = None) -> float | None:
    if count <= 0:
        return None
    # With no start the period term is left out: the planner would take it for a narrowing range and sort
    # the rows found through another index, instead of walking the duration's own index in order.
    terms = [*(["assignee = ?"] if rep else []), duration.present, *(["created_at >= ?"] if since else [])]
    params = [*([rep] if rep else []), *([since] if since else []), (count - 1) // 2]
    rows = await store.fetch_all(
        f"SELECT {duration.seconds} AS seconds FROM referrals WHERE {' AND '.join(terms)}"
        f" ORDER BY {duration.seconds} LIMIT 2 OFFSET ?",
        *params,
    )
    middle = [float(row["seconds"]) for row in rows][: 2 - count % 2]
    return statistics.fmean(middle) / 60 if middle else None
