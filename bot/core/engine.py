"""The engine owns the event loop: it enters every part, runs them side by side, and on a stop
signal (or any part failing) cancels them and exits every part in reverse order."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Protocol, Self, TypeVar

log = logging.getLogger(__name__)


GRACE_SECONDS = 10.0
T = TypeVar("T")
# Nearly everything a unit of work allocates is freed by reference counting, yet the collector's default pass every
# 700 new containers ran 50 times a second in a burst of arrivals and took 4% of each one. Cycles are still found.
YOUNG_COLLECTION_EVERY = 10_000


def collect_cycles_less_often() -> None:
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_EVERY), middle, old)


class Part(Protocol):
    async def run(self) -> None: ...


class Drains(Protocol):
    def stop(self) -> None:
        """Take no new work and let run() return once in-flight work is finished."""


class Engine:
    def __init__(self, parts: Sequence[Part], stack: AsyncExitStack) -> None:
        self._parts = parts
        self._stack = stack
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._tasks = [asyncio.create_task(part.run(), name=type(part).__name__) for part in self._parts]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stopping.set()
        # Inbound first: parts that cannot drain (the poller) are cancelled, and nothing new arrives.
        # A cancelled update rolls back and is fetched again next time, as its offset never moved.
        for part, task in zip(self._parts, self._tasks, strict=True):
            if hasattr(part, "stop"):
                part.stop()
            else:
                task.cancel()
        _, late = await asyncio.wait(self._tasks, timeout=GRACE_SECONDS)
        for task in late:
            task.cancel()  # an in-flight send left leased is sent again after its lease
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    def part(self, kind: type[T]) -> T:
        """The running part of a given type (for operators' tools and tests)."""
        for part in self._parts:
            if isinstance(part, kind):
                return part
        raise LookupError(kind.__name__)

    def stopped_parts(self) -> list[str]:
        """Parts whose task has ended while the engine runs (failed or returned): what /healthz names."""
        return [type(part).__name__ for part, task in zip(self._parts, self._tasks, strict=False) if task.done()]

    def stop(self) -> None:
        self.stopping.set()

    async def serve(self) -> None:
        """Run until stop() (SIGINT and SIGTERM call it) or until a part fails, which is raised."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        stopper = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        log.info("stopping")
