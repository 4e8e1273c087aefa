"""What the SQL backends' transaction classes share: the executor they run statements on, and row helpers."""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol


class Executor(Protocol):
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


class _RandomBytes:
    """The operating system's random bytes, read 4 KiB at a time: an arrival takes ten ids, and a system call
    for each cost more than building the rows they name. The lock keeps two threads from sharing bytes."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._pool = b""
        self._lock = threading.Lock()

    def take(self, count: int) -> bytes:
        with self._lock:
            if len(self._pool) < count:
                self._pool = secrets.token_bytes(self._size)
            taken, self._pool = self._pool[:count], self._pool[count:]
        return taken


_random = _RandomBytes()


def new_id() -> str:
    """The millisecond it was made, then 64 random bits: ids made together sort together, so each new row lands
    on the last pages of its table's id index instead of on a random page (a random key dirtied a page per row,
    and every commit wrote and synced them all)."""
    return f"{time.time_ns() // 1_000_000:012x}{_random.take(8).hex()}"


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...], conflict: str) -> str:
    # Built once per table and column set: the same few statements are written thousands of times a second.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) {conflict}"


class SqlBase:
    """Statements in portable SQL with `?` placeholders; `lock` is appended to reads of one row that a write
    transaction may change next (PostgreSQL: FOR UPDATE, so two instances cannot both act on what they read)."""

    def __init__(self, db: Executor, lock: str = "") -> None:
        self._db = db
        self._lock = lock

    async def _one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self._db.fetch_all(sql, params)
        return rows[0] if rows else None

    async def _insert(self, table: str, row: dict[str, Any], conflict: str = "") -> int:
        return await self._db.execute(_insert_sql(table, tuple(row), conflict), tuple(row.values()))

    async def _update(self, table: str, where: str, key: Any, changes: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in changes)
        await self._db.execute(f"UPDATE {table} SET {assignments} WHERE {where} = ?", (*changes.values(), key))
