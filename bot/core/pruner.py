"""The retention prune: every hour, what RETENTION_DAYS lets go (bot/core/retention.py) is deleted a batch at a
time, with a pause after each batch that deleted something, so arrivals and sends never wait long behind it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.core.clock import Clock
from bot.core.periodic import Periodic
from bot.core.retention import START, TABLES, Mark, Table, cutoffs, summary
from storage.base import Store

log = logging.getLogger(__name__)

BATCH = 500  # rows looked at, and at most deleted, per transaction: SQLite's write lock for 5-30 ms, commit included
PAUSE_SECONDS = 0.05


class Pruner(Periodic):
    what = "retention prune"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        days: int,
        on_pruned: Callable[[Mapping[Table, int]], None] = lambda removed: None,
        poll_seconds: float = 3600.0,
    ) -> None:
        super().__init__(poll_seconds)
        self._store = store
        self._clock = clock
        self.days = days  # 0: keep everything
        self._on_pruned = on_pruned
        self._marks: dict[Table, Mark] = {}  # where each table's scan stands, carried from one pass to the next

    async def sweep(self) -> int:
        return sum((await self.prune()).values())

    async def prune(self) -> dict[Table, int]:
        """One pass over every table; the rows removed from each (none while the retention is off)."""
        if not self.days:
            return {}
        until = cutoffs(self.days, self._clock.now())
        removed = {table: await self._prune(table, until[table]) for table in TABLES}
        if any(removed.values()):
            log.info("pruned what is older than RETENTION_DAYS=%d: %s", self.days, summary(removed))
            self._on_pruned(removed)
        return removed

    async def _prune(self, table: Table, before: datetime) -> int:
        removed = 0
        while not self._stopping.is_set():
            step = await self._store.prune(table, before, self._marks.get(table, START), BATCH)
            self._marks[table] = step.mark
            removed += step.removed
            if step.done:
                break
            await asyncio.sleep(PAUSE_SECONDS if step.removed else 0)  # let the writes queued meanwhile go first
        return removed
