"""The funnel's counts per variant over a period, read by the storage from the tallies it keeps as referrals move
(storage/report_sql.py), and summed."""

from __future__ import annotations

from datetime import datetime

from bot.core.figures import Counts
from storage.base import Store

__all__ = ["Counts", "counts_by_variant", "total"]


async def counts_by_variant(store: Store, since: datetime | None) -> dict[str, Counts]:
    """Counts per variant ('' for referrals with none) of what arrived and was shared from `since` on."""
    return await store.counts_by_variant(since)


def total(counts: dict[str, Counts]) -> Counts:
    return sum(counts.values(), Counts())
