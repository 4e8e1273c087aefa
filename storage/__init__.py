"""Storage: the Store interface and its backends."""

from __future__ import annotations

from storage.base import Store, Transaction
from storage.instance_lock import AlreadyRunning, only_instance
from storage.sqlite import SQLiteStore
from storage.sqlite_files import backup_copy, integrity
from storage.sqlite_files import write_problem as sqlite_write_problem


async def open_store(database_url: str, synchronous: str = "FULL", busy_timeout_ms: int = 5000) -> Store:
    """Open the backend a DATABASE_URL names."""
    if database_url.startswith("sqlite:///"):
        return await SQLiteStore.open(database_url.removeprefix("sqlite:///"), synchronous, busy_timeout_ms)
    if database_url.startswith(("postgresql://", "postgres://")):
        from storage.postgres import PostgresStore  # asyncpg is only loaded where PostgreSQL is used

        return await PostgresStore.open(database_url)
    raise ValueError(f"unsupported DATABASE_URL: {database_url.split(':', 1)[0]}")


__all__ = [
    "AlreadyRunning",
    "SQLiteStore",
    "Store",
    "Transaction",
    "backup_copy",
    "integrity",
    "only_instance",
    "open_store",
    "sqlite_write_problem",
]
