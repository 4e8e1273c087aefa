"""Ordered SQL migrations, shipped as files and recorded in the database as they are applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Files named NNNN_name.sql, in version order; statements are split on `;` at line ends."""
    found = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:4])
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("--")]
        statements = tuple(part.strip() for part in "\n".join(lines).split(";\n") if part.strip())
        found.append(Migration(version, path.stem, tuple(s.rstrip(";") for s in statements)))
    return found


CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
