"""Copy a program's data from its SQLite file into PostgreSQL, for a business moving to several instances.

The source is read in one read transaction, so the copy is one consistent moment even while the bot keeps
running on it (WAL readers never block the writer). The target is written in one transaction: a copy that
fails leaves the target as empty as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

import asyncpg

from storage.migrations import load_migrations
from storage.postgres import PostgresStore

BATCH = 5_000
Progress = Callable[[int, int], None]


class CopyRefused(Exception):
    """The copy cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]  # table → rows copied


def _source_versions(source: sqlite3.Connection) -> set[int]:
    try:
        return {int(row[0]) for row in source.execute("SELECT version FROM schema_migrations")}
    except sqlite3.OperationalError:
        return set()


def _check_versions(source: sqlite3.Connection) -> None:
    shared = {m.version for m in load_migrations("sqlite")}
    missing = shared - _source_versions(source)
    if missing:
        raise CopyRefused(
            "the SQLite database is not up to date: run `referral-bot migrate` on it first "
            f"(missing {', '.join(str(v) for v in sorted(missing))})"
        )


async def _columns(target: asyncpg.Connection[asyncpg.Record]) -> dict[str, dict[str, str]]:
    """Every table of the target's schema with its columns and their types."""
    rows = await target.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY ordinal_position"
    )
    tables: dict[str, dict[str, str]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return tables


async def _in_order(target: asyncpg.Connection[asyncpg.Record], tables: Sequence[str]) -> list[str]:
    """Tables ordered so that every row a foreign key points at is copied before the row pointing at it."""
    keys = await target.fetch(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
    )
    graph: dict[str, set[str]] = {table: set() for table in tables}
    for key in keys:
        if key["child"] != key["parent"]:
            graph.setdefault(key["child"], set()).add(key["parent"])
    return [table for table in TopologicalSorter(graph).static_order() if table in tables]


def _convert(value: Any, data_type: str) -> Any:
    """SQLite keeps whatever it was given; PostgreSQL's columns take exactly their type."""
    if value is None:
        return None
    if data_type in ("bigint", "integer", "smallint"):
        return int(value)
    if data_type in ("double precision", "real"):
        return float(value)
    return value if isinstance(value, str) else str(value)


async def _copy_table(
    source: sqlite3.Connection,
    target: asyncpg.Connection[asyncpg.Record],
    table: str,
    columns: dict[str, str],
    progress: Progress,
) -> int:
    present = {row[1] for row in source.execute(f'PRAGMA table_info("{table}")')}  # names from the catalogue
    names = [name for name in columns if name in present or name == "rowid"]  # the outbox's order, kept
    select = ", ".join(f'"{name}"' for name in names)
    cursor = source.execute(f'SELECT {select} FROM "{table}" ORDER BY rowid')
    copied = 0
    while batch := cursor.fetchmany(BATCH):
        records = [tuple(_convert(value, columns[n]) for value, n in zip(row, names, strict=True)) for row in batch]
        await target.copy_records_to_table(table, records=records, columns=names)
        copied += len(records)
        progress(copied, 0)  # the caller adds what earlier tables copied
    return copied


def _offset(progress: Progress, earlier: dict[str, int], total: int) -> Progress:
    """One table's progress as part of the whole copy."""
    done = sum(earlier.values())
    return lambda copied, _: progress(done + copied, total)


async def copy_sqlite_to_postgres(source_path: str, target_url: str, progress: Progress) -> Copied:
    """Copy every table; `progress(rows done, rows in all)` as it goes."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, isolation_level=None)
    try:
        _check_versions(source)
        store = await PostgresStore.open(target_url, pool_size=1)
        try:
            await store.migrate()  # the same schema the bot would make, before anything is copied into it
        finally:
            await store.close()
        target = await asyncpg.connect(target_url)
        try:
            return await _copy_all(source, target, progress)
        finally:
            await target.close()
    finally:
        source.close()


async def _copy_all(
    source: sqlite3.Connection, target: asyncpg.Connection[asyncpg.Record], progress: Progress
) -> Copied:
    columns = await _columns(target)
    if await target.fetchval("SELECT EXISTS (SELECT 1 FROM customers) OR EXISTS (SELECT 1 FROM outbox)"):
        raise CopyRefused("the PostgreSQL database already holds a program: copy into an empty one")
    here = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    rows: dict[str, int] = {}
    source.execute("BEGIN")  # one snapshot of the running program for every table
    tables = await _in_order(target, [t for t in columns if t in here])
    total = sum(source.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables)
    async with target.transaction():
        for table in tables:
            rows[table] = await _copy_table(source, target, table, columns[table], _offset(progress, rows, total))
        if "rowid" in columns.get("outbox", {}):  # new rows must sort after the copied ones
            await target.execute("SELECT setval(pg_get_serial_sequence('outbox', 'rowid'), MAX(rowid)) FROM outbox")
    source.execute("COMMIT")
    return Copied(rows)
