"""Ordered SQL migrations, shipped as files and recorded in the database as they are applied.

`NNNN_name.sql` runs on every backend. A few steps exist for one backend only, named `NNNN_name.sqlite.sql` or
`NNNN_name.postgresql.sql` (PostgreSQL has no implicit `rowid`, which the outbox orders by, so it gets a column).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
Dialect = Literal["sqlite", "postgresql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _dialect_of(path: Path) -> str | None:
    suffixes = path.name.removesuffix(".sql").rsplit(".", 1)
    return suffixes[1] if len(suffixes) == 2 and suffixes[1] in DIALECTS else None


def load_migrations(dialect: Dialect = "sqlite", directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Files named NNNN_name[.dialect].sql, in version order; statements are split on `;` at line ends."""
    found = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if _dialect_of(path) not in (None, dialect):
            continue
        version = int(path.name[:4])
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("--")]
        statements = tuple(part.strip() for part in "\n".join(lines).split(";\n") if part.strip())
        name = path.name.removesuffix(".sql").removesuffix(f".{dialect}")
        found.append(Migration(version, name, tuple(s.rstrip(";") for s in statements)))
    return found


CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
