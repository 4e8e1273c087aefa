"""One writer at a time, with recording work that already reached a platform allowed to go first."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class WriteGate:
    """A lock with two queues. Urgent holders (recording sends that went out) are served before the
    rest: every moment a delivered message stays unrecorded is a moment in which a crash would send
    it twice. Within a queue, holders are served in arrival order."""

    def __init__(self, on_idle: Callable[[], None] = lambda: None) -> None:
        self._on_idle = on_idle  # told when the gate falls free with no one waiting
        self._held = False
        self._queues: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    @property
    def waiting(self) -> bool:
        """Someone is queued for the next turn."""
        return any(not turn.done() for queue in self._queues for turn in queue)

    @asynccontextmanager
    async def hold(self, urgent: bool = False) -> AsyncIterator[None]:
        if self._held:
            turn = asyncio.get_running_loop().create_future()
            self._queues[0 if urgent else 1].append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed over just as we were cancelled
                    self._pass_on()
                raise
        self._held = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        for queue in self._queues:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the gate stays held: it now belongs to that waiter
                    return
        self._held = False
        self._on_idle()
