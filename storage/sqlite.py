"""SQLite backend: WAL, durable commits, and every write on one writer connection in BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from bot.core.models import OutboxRow, Timer
from storage.availability import Availability
from storage.group_commit import GroupCommit
from storage.migrations import CREATE_LEDGER, load_migrations
from storage.outbox_sql import CLAIMABLE_BULK, CLAIMABLE_URGENT, claim_in_lanes
from storage.rows import from_row, to_db
from storage.sql_base import Executor
from storage.sql_store import SqlStoreBase
from storage.sql_transaction import SqlTransaction
from storage.sqlite_files import DISK_ADVICE, disk_trouble, room


class _Executor:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._connection.execute(sql, params)
        return cursor.rowcount

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self._connection.execute(sql, params) as cursor:
            return [dict(row) for row in await cursor.fetchall()]


class _LoopExecutor:
    """Runs statements right here on the event loop: right for indexed lookups and writes that take microseconds
    (see _WriterExecutor); reports that scan tables use the threaded reader instead."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._connection.execute(sql, params).fetchall()]


class _WriterExecutor(_LoopExecutor):
    """A write transaction's statements run right here on the event loop: with the write lock held they take
    microseconds, far less than a hop to a worker thread and back. Only waiting is done in a thread: COMMIT's
    fsync (storage/group_commit.py shares it among the writes that queued meanwhile) and a lock held by another
    process (an operator's backup, say), up to busy_timeout."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
        super().__init__(connection)
        self._busy_timeout = busy_timeout_ms / 1000
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-lock")
        self._changes_before = 0
        self.wrote: Callable[[], None] = lambda: None  # told after a commit that changed rows went to disk

    async def begin(self) -> None:
        self._changes_before = self._connection.total_changes
        try:
            self._connection.execute("BEGIN IMMEDIATE")  # the connection's own busy_timeout is 0: never blocks
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
            done = asyncio.get_running_loop().run_in_executor(self._thread, self._begin_when_free)
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                await asyncio.wait([done])  # keep the connection ours until the attempt ends
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def _begin_when_free(self) -> None:
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                _apply(self._connection, ["BEGIN IMMEDIATE"])
                return
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def execute_now(self, statement: str) -> None:
        self._connection.execute(statement)

    async def commit_off_loop(self) -> None:
        changed = self._connection.total_changes != self._changes_before  # else COMMIT writes nothing: proves nothing
        await asyncio.get_running_loop().run_in_executor(self._thread, self._connection.execute, "COMMIT")
        if changed:
            self.wrote()

    def rollback(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")

    def checkpoint(self) -> bool:
        deadline = time.monotonic() + self._busy_timeout
        while True:
            busy = self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy or time.monotonic() > deadline:
                return not busy
            time.sleep(0.02)

    def close(self) -> None:
        self._connection.close()
        self._thread.shutdown(wait=True)


def _apply(connection: sqlite3.Connection, statements: Sequence[str]) -> None:
    """Run and finish each statement: a cursor left unread (a PRAGMA's answer kept alive by a future) would
    make every later COMMIT fail with "SQL statements in progress"."""
    for statement in statements:
        connection.execute(statement).fetchall()


def _busy(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


# A write that changes a row without changing anything: on a full disk it fails like any other (see ping).
_PROBE = "UPDATE schema_migrations SET name = name WHERE version = (SELECT MAX(version) FROM schema_migrations)"
_CLAIMS = (CLAIMABLE_URGENT, CLAIMABLE_BULK)


async def _lease_rows(db: Executor, ids: list[str], until: str) -> None:
    # A held notification is held no more once claimed (migration 0027): its retries keep its chat's order.
    for row_id in ids:  # one indexed UPDATE each, on the loop: microseconds
        await db.execute(
            "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, held = 0 WHERE id = ?",
            (until, row_id),
        )


class SQLiteStore(SqlStoreBase):
    """Writes are serialised through one connection, so SQLite never answers "database is locked", and share
    commits when they queue up (storage/group_commit.py)."""

    dialect = "sqlite"
    updates_at_once = 100  # a whole getUpdates batch side by side: group commit then carries up to 64 per fsync

    def __init__(
        self,
        writer: sqlite3.Connection,
        lookups: sqlite3.Connection,
        reader: aiosqlite.Connection,
        busy_ms: int,
        path: str = "",
    ) -> None:
        super().__init__()
        self._writer = _WriterExecutor(writer, busy_ms)
        self._folder = os.path.dirname(os.path.abspath(path))
        self._available = Availability(f"SQLite database {path}", DISK_ADVICE, disk_trouble)
        self._writer.wrote = self._wrote
        self._lookups = _LoopExecutor(lookups)  # indexed reads outside transactions: rendering an alert, say
        self._reader = _Executor(reader)  # reports and exports, which may scan: off the loop
        self._lookup_connection = lookups
        self._read_connection = reader
        self._groups = GroupCommit(self._writer)
        self.commit_counts = self._groups.counts

    @classmethod
    async def open(cls, path: str, synchronous: str = "FULL", busy_timeout_ms: int = 5000) -> SQLiteStore:
        pragmas = [
            f"PRAGMA busy_timeout = {int(busy_timeout_ms)}",
            "PRAGMA journal_mode = WAL",
            f"PRAGMA synchronous = {synchronous}",  # from a Literal setting
            "PRAGMA foreign_keys = ON",
        ]
        writer, lookups = (sqlite3.connect(path, isolation_level=None, check_same_thread=False) for _ in range(2))
        reader = await aiosqlite.connect(path, isolation_level=None)
        reader.row_factory = aiosqlite.Row
        for connection in (writer, lookups):
            connection.row_factory = sqlite3.Row
            await asyncio.to_thread(_apply, connection, pragmas)  # switching to WAL may wait for another process
        for pragma in pragmas:
            await reader.execute(pragma)
        writer.execute("PRAGMA busy_timeout = 0").fetchall()  # waiting for another process is done in a thread
        # Each write runs in a savepoint (storage/group_commit.py), whose undo copies spill to a temp file past
        # 64 KiB: kept in memory, an arrival's statements take 40% less time. A crash loses them either way.
        writer.execute("PRAGMA temp_store = MEMORY").fetchall()
        writer.execute("PRAGMA secure_delete = ON").fetchall()  # erased data is zeroed, not left in free space
        return cls(writer, lookups, reader, busy_timeout_ms, path)

    async def close(self) -> None:
        async with self._groups.exclusive():
            self._writer.close()
        self._lookup_connection.close()
        await self._read_connection.close()

    @asynccontextmanager
    async def _write(self, urgent: bool = False) -> AsyncIterator[_WriterExecutor]:
        async with self._available.watch(proves=False), self._groups.write(urgent):
            yield self._writer

    @asynccontextmanager
    async def _lookup(self) -> AsyncIterator[_LoopExecutor]:
        yield self._lookups

    @asynccontextmanager
    async def _scan(self) -> AsyncIterator[_Executor]:
        yield self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._available.watch(proves=False), self._groups.write():
            yield SqlTransaction(self._writer)

    def _wrote(self) -> None:
        if self._available.down and room(self._folder):
            self._available.succeeded()

    async def ping(self) -> None:
        if self._available.down:  # reads work on a full disk: only room, and a write, tell that it is over
            if not room(self._folder):
                self._available.check()
            async with self._write() as db:
                await db.execute(_PROBE)
        await super().ping()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        yield SqlTransaction(self._lookups)

    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self._write() as db:
            await db.execute(CREATE_LEDGER)
            done = {row["version"] for row in await db.fetch_all("SELECT version FROM schema_migrations")}
        for migration in load_migrations():
            if migration.version in done:
                continue
            async with self._write() as db:
                for statement in migration.statements:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db(datetime.now(UTC))),
                )
            applied.append(migration.name)
        return applied

    async def scrub(self) -> bool:
        # Earlier versions of changed pages live on in the WAL until a checkpoint; TRUNCATE also empties the file.
        async with self._groups.exclusive():
            return await asyncio.to_thread(self._writer.checkpoint)

    async def claim_due(
        self, now: datetime, limit: int, lease: timedelta, platform: str | None = None, bulk: int | None = None
    ) -> Sequence[OutboxRow]:
        async with self._write() as db:
            return await claim_in_lanes(db, _CLAIMS, _lease_rows, now, limit, lease, platform, bulk)

    async def take_over_leases(self, at: datetime) -> int:
        async with self._write() as db:
            # lease_until is kept: it marks the row as perhaps delivered, which a sender may check first.
            rows = await db.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE status = 'sending'", (to_db(at),)
            )
            await db.execute("UPDATE sla_timers SET lease_until = NULL WHERE status = 'pending'")
        return rows

    async def claim_due_timers(self, now: datetime, limit: int, lease: timedelta) -> Sequence[Timer]:
        async with self._write() as db:
            rows = await db.fetch_all(
                "SELECT * FROM sla_timers WHERE status = 'pending' AND due_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?",
                (to_db(now), to_db(now), limit),
            )
            for row in rows:
                await db.execute("UPDATE sla_timers SET lease_until = ? WHERE id = ?", (to_db(now + lease), row["id"]))
        return [from_row(Timer, row) for row in rows]
