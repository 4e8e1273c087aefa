"""What the SQL backends' transaction classes share: the executor they run statements on, and row helpers."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Executor(Protocol):
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


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


class Scans:
    """Store-level reads that may scan tables (reports, sweeps, operator tools): a backend runs them where they
    hold up no writer (SQLite: its reader connection, off the event loop)."""

    def _scan(self) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def _rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        async with self._scan() as db:
            return await db.fetch_all(sql, params)
