"""A SQLite database file handled as a file: an operator's online backup, its check, whether the bot could write
the file at all, and whether the disk under it is full."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

# Free space below which the disk counts as still full after a write failed for want of it: a small write may fit in
# what the failed ones left allocated, while a burst of arrivals (up to 64 in one commit) would fail again.
ROOM = 1 << 20
DISK_ADVICE = (
    "Writes fail, so nothing is acknowledged: Telegram keeps the updates and messages wait in the outbox."
    " Free space on that disk (or mend it); the bot carries on by itself"
)


def backup_copy(source_path: str, target: Path, progress: Callable[[int, int], None]) -> int:
    """Copy the database with SQLite's online backup, safe while the bot runs; returns the copy's page count.
    `progress(done, total)` is told the pages copied so far. Raises sqlite3.Error."""
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # A few hundred pages a step, so the bot's writers wait only briefly between steps.
        source.backup(copy, pages=256, progress=lambda _, left, total: progress(total - left, total))
        copy.execute("PRAGMA journal_mode = DELETE").fetchall()  # one self-contained file
        return int(copy.execute("PRAGMA page_count").fetchone()[0])
    finally:
        copy.close()
        source.close()


def integrity(path: Path) -> str:
    """SQLite's integrity_check of a database file: "ok", or the problems found."""
    with sqlite3.connect(path) as copy:
        return "; ".join(str(row[0]) for row in copy.execute("PRAGMA integrity_check").fetchall())


def write_problem(path: Path) -> str | None:
    """Why the bot could not write an existing database file, or None when it could."""
    try:
        connection = sqlite3.connect(path, timeout=0)
        try:
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock and writes nothing
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return None  # a writer holds it (a backup): writable, and the bot waits its turn
        return f"cannot write to {path}: {exc}"
    return None


def disk_trouble(error: BaseException) -> str | None:
    """A full disk or a failing one, which fails every write until the operator acts (the group commit's own error
    for writes rolled back with a failed one carries it as its cause)."""
    for cause in (error, error.__cause__):
        if isinstance(cause, sqlite3.Error) and cause.sqlite_errorcode & 0xFF in (
            sqlite3.SQLITE_FULL,
            sqlite3.SQLITE_IOERR,
        ):
            return f"the disk cannot take the writes ({cause})"
    return None


def room(folder: str) -> bool:
    """Whether the disk holding the database has room to go on writing (see ROOM)."""
    return shutil.disk_usage(folder).free >= ROOM
