"""PostgreSQL for the tests: a fresh schema per test on the local server, or a clear reason to skip.

On a machine without PostgreSQL these tests skip; CI sets REQUIRE_POSTGRES=1, which turns the skip into a
failure, so a broken database can never pass CI quietly.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Schema:
    """One test's own schema: the bot reaches it through DATABASE_URL, an operator through psql."""

    name: str

    @property
    def url(self) -> str:
        return f"{SERVER}?search_path={self.name}"  # asyncpg makes query parameters session settings

    def execute(self, sql: str, *params: Any) -> None:
        """A change an operator makes by hand (in the tests: time passing for the SLA timers)."""
        with psycopg.connect(SERVER, options=f"-csearch_path={self.name}") as db:
            db.execute(sql.replace("?", "%s"), params)

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(SERVER, options=f"-csearch_path={self.name}", row_factory=dict_row) as db:
            query = sql.replace("%", "%%").replace("?", "%s")  # the tests write SQLite's placeholders
            return list(db.execute(query, params).fetchall())


def _unavailable(error: Exception) -> None:
    reason = f"PostgreSQL at {SERVER} is not reachable ({error.__class__.__name__}: {error})"
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


@contextmanager
def fresh_schema() -> Iterator[Schema]:
    schema = Schema(f"rb_{secrets.token_hex(6)}")
    try:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=3) as db:
            db.execute(f"CREATE SCHEMA {schema.name}")  # a generated identifier, never user input
    except psycopg.OperationalError as error:
        _unavailable(error)
    try:
        yield schema
    finally:
        with psycopg.connect(SERVER, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema.name} CASCADE")
