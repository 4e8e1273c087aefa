"""PostgreSQL backend on asyncpg, for several bot instances sharing one database.

The same migrations and the same portable SQL as SQLite run here (`?` becomes `$n`). What differs is how
instances share work: rows read to be changed are locked (`FOR UPDATE`), outbox rows and SLA timers are
claimed with `FOR UPDATE SKIP LOCKED` under a lease, and nothing assumes it is the only process running.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.core.models import OutboxRow, Timer
from storage.availability import Availability
from storage.base import CommitCounts
from storage.migrations import CREATE_LEDGER, load_migrations
from storage.outbox_sql import CLAIMABLE_BULK, CLAIMABLE_URGENT, claim_in_lanes
from storage.rows import from_row, to_db
from storage.sql_base import Executor
from storage.sql_store import SqlStoreBase
from storage.sql_transaction import SqlTransaction

MIGRATION_LOCK = 0x5245_4642  # any constant: only one instance migrates at a time
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")  # string literals are matched first, so a `?` inside one stays


def _pg_claim(sql: str) -> str:
    # `? IS NULL` alone gives PostgreSQL no type to infer for the parameter; the claim's platform filter is text.
    claim = sql.replace("(? IS NULL OR", "(CAST(? AS TEXT) IS NULL OR") + " FOR UPDATE OF o SKIP LOCKED"
    assert claim != sql + " FOR UPDATE OF o SKIP LOCKED", "the outbox claim's platform filter changed"
    return claim


_CLAIMS = (_pg_claim(CLAIMABLE_URGENT), _pg_claim(CLAIMABLE_BULK))


async def _lease_rows(db: Executor, ids: list[str], until: str) -> None:
    # A held notification is held no more once claimed (migration 0027): its retries keep its chat's order.
    await db.execute(
        "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, held = 0"
        " WHERE id = ANY(CAST(? AS TEXT[]))",
        (until, ids),
    )


@lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    """The statement with PostgreSQL's numbered placeholders."""
    numbers = iter(range(1, sql.count("?") + 1))
    return _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m.group() == "?" else m.group(), sql)


# A server stopped, restarting or out of reach, or a connection it cut: every query fails until it is back.
_AWAY = (
    OSError,  # refused, unreachable, timed out (TimeoutError is one)
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InternalClientError,  # a pooled connection the server cut mid-operation: "another operation…"
)
_ADVICE = (
    "Nothing is acknowledged meanwhile: Telegram keeps the updates (the webhook answers 500) and messages wait in"
    " the outbox. Start the server or mend the network; the bot reconnects by itself"
)


def _away(error: BaseException) -> str | None:
    # asyncpg's "cannot call Transaction.__aexit__(): the underlying connection is closed" has no class of its own.
    closed = isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
    return f"{type(error).__name__}: {error}" if closed or isinstance(error, _AWAY) else None


def _changed(status: str) -> int:
    """Rows a command changed, from its status tag ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgExecutor:
    def __init__(self, connection: PoolConnectionProxy[asyncpg.Record]) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _changed(await self._connection.execute(pg_sql(sql), *params))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in await self._connection.fetch(pg_sql(sql), *params)]


class PostgresStore(SqlStoreBase):
    """A connection pool; every transaction is READ COMMITTED with the rows it will change locked."""

    dialect = "postgresql"
    updates_at_once = 1

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], where: str = "PostgreSQL") -> None:
        super().__init__()
        self._pool = pool
        self.commit_counts = CommitCounts()
        self._available = Availability(where, _ADVICE, _away)

    @classmethod
    async def open(cls, url: str, pool_size: int = 10) -> PostgresStore:
        # Query parameters of the URL (search_path=..., say) become the sessions' settings.
        pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
        parts = urlsplit(url)
        return cls(pool, f"PostgreSQL at {parts.hostname}:{parts.port or 5432}{parts.path}")

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _write(self, urgent: bool = False) -> AsyncIterator[_PgExecutor]:
        async with self._available.watch(), self._pool.acquire() as connection:
            async with connection.transaction():
                yield _PgExecutor(connection)
            self.commit_counts.writes += 1  # each transaction is its own commit here
            self.commit_counts.commits += 1

    @asynccontextmanager
    async def _lookup(self) -> AsyncIterator[_PgExecutor]:
        async with self._available.watch(), self._pool.acquire() as connection:
            yield _PgExecutor(connection)

    def _scan(self) -> AbstractAsyncContextManager[_PgExecutor]:
        return self._lookup()  # a pooled connection of its own: a scan holds up nobody

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._write() as db:
            yield SqlTransaction(db, lock=" FOR UPDATE")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        async with self._lookup() as db:
            yield SqlTransaction(db)

    async def migrate(self) -> list[str]:
        async with self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                return await self._apply_migrations(connection)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def _apply_migrations(self, connection: PoolConnectionProxy[asyncpg.Record]) -> list[str]:
        await connection.execute(CREATE_LEDGER)
        done = {row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in load_migrations("postgresql"):
            if migration.version in done:
                continue
            async with connection.transaction():
                for statement in migration.statements:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    to_db(datetime.now(UTC)),
                )
            applied.append(migration.name)
        return applied

    async def scrub(self) -> bool:
        # VACUUM removes the dead versions of erased rows from the tables and their indexes. PostgreSQL's WAL
        # archive and base backups are the operator's to expire (see the README on forgetting).
        async with self._pool.acquire() as connection:
            await connection.execute("VACUUM customers, referrals, outbox, events, nps_answers, share_events")
        return True

    async def claim_due(
        self, now: datetime, limit: int, lease: timedelta, platform: str | None = None, bulk: int | None = None
    ) -> Sequence[OutboxRow]:
        async with self._write() as db:
            # Claims for one platform take turns across instances: a chat's rows must go out in order, and a row
            # skipped because another instance is claiming it must not let the next row of its chat through.
            await db.fetch_all("SELECT pg_advisory_xact_lock(hashtext(?))", (f"outbox:{platform or '*'}",))
            return await claim_in_lanes(db, _CLAIMS, _lease_rows, now, limit, lease, platform, bulk)

    async def claim_due_timers(self, now: datetime, limit: int, lease: timedelta) -> Sequence[Timer]:
        async with self._write() as db:
            rows = await db.fetch_all(
                "SELECT * FROM sla_timers WHERE status = 'pending' AND due_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED",
                (to_db(now), to_db(now), limit),
            )
            if rows:
                await db.execute(
                    "UPDATE sla_timers SET lease_until = ? WHERE id = ANY(CAST(? AS TEXT[]))",
                    (to_db(now + lease), [row["id"] for row in rows]),
                )
        return [from_row(Timer, row) for row in rows]

    async def take_over_leases(self, at: datetime) -> int:
        # Another instance may be sending right now, so a lease is only ever taken over once it has run out.
        return 0
