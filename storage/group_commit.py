"""Group commit for the one SQLite writer: transactions that queue up while a commit is on disk share the next one.

Every write still waits for its own durable COMMIT before it returns, so nothing is acknowledged that a crash could
lose. What changes is how many writes one fsync carries. The COMMIT runs in a thread (sqlite3 lets go of the GIL
while it waits for the disk), so the event loop goes on handling other updates meanwhile; those queue at the gate,
and when the disk is done they run one after another inside a single transaction, each in its own SAVEPOINT, and
then commit together. A write that fails rolls back to its savepoint alone; a COMMIT that fails fails every write
in its group, and none of them is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from storage.base import CommitCounts
from storage.write_gate import WriteGate

MAX_GROUP = 64  # writes per commit at most, so a long burst still sees commits often


class GroupWriter(Protocol):
    @property
    def in_transaction(self) -> bool: ...
    async def begin(self) -> None: ...
    def execute_now(self, statement: str) -> None: ...
    async def commit_off_loop(self) -> None: ...
    def rollback(self) -> None: ...


@dataclass
class _Group:
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    members: int = 0


class GroupCommit:
    """Hands out write turns on one connection and decides when the open transaction is committed."""

    def __init__(self, writer: GroupWriter) -> None:
        self._writer = writer
        self._gate = WriteGate(on_idle=self._idle)
        self._open: _Group | None = None
        self.counts = CommitCounts()
        self._orphans: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def write(self, urgent: bool = False) -> AsyncIterator[None]:
        """One write, in its own savepoint of the shared transaction; returns once that transaction is durable."""
        async with self._gate.hold(urgent):
            group = self._open or await self._begin()
            self._writer.execute_now("SAVEPOINT one_write")
            try:
                yield
            except BaseException as error:
                self._undo_one(group, error)
                await self._finish_unless_joined(urgent)
                raise
            self._writer.execute_now("RELEASE one_write")
            group.members += 1
            await self._finish_unless_joined(urgent)
        await asyncio.shield(group.done)  # set by whichever member of the group commits it

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """The connection alone, outside any transaction: for checkpoints and closing."""
        async with self._gate.hold(urgent=True):
            await self._finish()
            yield

    async def _begin(self) -> _Group:
        await self._writer.begin()
        self._open = _Group()
        return self._open

    def _undo_one(self, group: _Group, error: BaseException) -> None:
        if self._writer.in_transaction:
            self._writer.execute_now("ROLLBACK TO one_write")
            self._writer.execute_now("RELEASE one_write")
            return
        # SQLite ended the whole transaction (a full disk, say): the writes before this one are gone too.
        self._open = None
        if group.members:
            lost = RuntimeError("the shared transaction was rolled back by the database")
            lost.__cause__ = error  # what made it roll back: a full disk, say
            group.done.set_exception(lost)
        else:
            group.done.set_result(None)

    async def _finish_unless_joined(self, urgent: bool) -> None:
        # Writes waiting at the gate join this transaction; the last one in commits it for all. An urgent write
        # (a send already out) commits at once: left open behind a queue of arrivals, a crash would send it twice.
        if not urgent and self._open is not None and self._open.members < MAX_GROUP and self._gate.waiting:
            return
        await self._finish()

    async def _finish(self) -> None:
        group, self._open = self._open, None
        if group is None:
            return
        if not group.members:
            self._writer.rollback()
            group.done.set_result(None)
            return
        commit = asyncio.ensure_future(self._writer.commit_off_loop())
        cancelled = False
        while not commit.done():
            try:
                await asyncio.wait([commit])
            except asyncio.CancelledError:
                cancelled = True  # the connection stays ours, and the group waits, until the disk is done
        error = commit.exception()
        if error is None:
            self.counts.writes += group.members
            self.counts.commits += 1
            group.done.set_result(None)
        else:
            self._writer.rollback()
            group.done.set_exception(error)
        if cancelled:
            raise asyncio.CancelledError

    def _idle(self) -> None:
        """Every write that was to join the open transaction was cancelled while it waited: commit what it holds."""
        if self._open is not None:
            task = asyncio.ensure_future(self._close_orphan())
            self._orphans.add(task)
            task.add_done_callback(self._orphans.discard)

    async def _close_orphan(self) -> None:
        async with self._gate.hold(urgent=True):
            await self._finish()
