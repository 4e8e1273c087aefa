"""One `referral-bot run` per SQLite database.

With SQLite there is exactly one bot process, so at start-up every row still leased belongs to a process that
died: it can be taken over at once instead of after its lease. That is only safe while no second process runs,
which this lock guarantees. (Operator commands such as `stats` or `backup` do not take it.)
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AlreadyRunning(Exception):
    pass


@contextmanager
def only_instance(database: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<database>.lock` for as long as the bot runs; the OS frees it when we die."""
    with open(f"{database}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another referral-bot is already running on {database}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
