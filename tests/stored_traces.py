"""For the privacy tests: what of a person is still stored, in every row and, on SQLite, anywhere in the database
files (a freed page, the WAL), where an erasure must leave nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import Operator


def database_bytes(database: Path) -> bytes:
    """The database file and its WAL, read by another process: closing a file this process opened would release
    every POSIX lock it holds on that file, the running bot's SQLite locks among them (sqlite.org/howtocorrupt.html),
    and a `referral-bot` command that ends meanwhile would take itself for the last connection and delete the WAL's
    index under the bot, whose reads then fail."""
    files = [str(path) for path in (database, Path(f"{database}-wal")) if path.exists()]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


def names_left(operator: Operator, names: tuple[str, ...]) -> list[str]:
    """The names (or addresses, or numbers) still stored: in any row and, on SQLite, anywhere in the database
    files. As whole words in text, since a random code or a page's binary header may hold the same letters."""
    if operator.schema is not None:
        listed = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
    else:
        listed = "SELECT name FROM sqlite_master WHERE type = 'table'"
    content = "".join(repr(operator.rows(f"SELECT * FROM {t['name']}")) for t in operator.rows(listed))
    if operator.schema is None:
        content += database_bytes(operator.path).decode("utf-8", "replace")
    edge = r"[\w\x00-\x1f\ufffd]"  # a letter, a digit or a byte that is not text
    return [name for name in names if re.search(f"(?<!{edge}){re.escape(name)}(?!{edge})", content)]
