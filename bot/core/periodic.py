"""An engine part that runs one pass of work every so often until it is stopped."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

log = logging.getLogger(__name__)


class Periodic:
    """Subclasses give `sweep()` (one pass, idempotent: keyed units of work) and `what` (for the log)."""

    what = "periodic pass"

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except Exception:  # a busy database must not end the work for good
                log.exception("%s failed; retrying", self.what)
            with suppress(TimeoutError):  # woken early only to stop
                await asyncio.wait_for(self._stopping.wait(), self._poll)

    async def sweep(self) -> int:
        raise NotImplementedError
