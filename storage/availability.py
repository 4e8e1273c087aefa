"""Whether the database can do any work at all. A full disk, or a PostgreSQL server that is away, fails every write
the same way for as long as it lasts: the operator is told once when it starts and once when it ends, and whoever
meets it meanwhile gets DatabaseUnavailable, which says what and where in one line."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.core.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# Why an error means that the database is unavailable, in words; None for any other error (a constraint, a bug).
Classify = Callable[[BaseException], str | None]


class Availability:
    def __init__(self, where: str, advice: str, classify: Classify) -> None:
        self._where = where  # the database, as an operator names it (no password)
        self._advice = advice  # what happens meanwhile, and what to do
        self._classify = classify
        self._since: float | None = None  # time.monotonic() of the first failure, while unavailable
        self._reason = ""
        self._refused = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def check(self) -> None:
        """Raise DatabaseUnavailable while the last attempt failed (for a health check that cannot try a write)."""
        if self._since is not None:
            raise DatabaseUnavailable(f"{self._where}: {self._reason}")

    @asynccontextmanager
    async def watch(self, proves: bool = True) -> AsyncIterator[None]:
        """Around one use of the database: an error that means it is unavailable becomes DatabaseUnavailable.
        `proves`: getting through shows that it is available again (a read does not, where only writes fail)."""
        try:
            yield
        except DatabaseUnavailable:
            raise
        except Exception as error:
            reason = self._classify(error)
            if reason is None:
                raise
            self.failed(reason)
            raise DatabaseUnavailable(f"{self._where}: {reason}") from error
        if proves:
            self.succeeded()

    def failed(self, reason: str) -> None:
        self._refused += 1
        if self._since is None:
            self._since, self._reason = time.monotonic(), reason
            log.error("database unavailable: %s: %s. %s", self._where, reason, self._advice)

    def succeeded(self) -> None:
        if self._since is not None:
            log.warning(
                "database available again: %s, after %.0f s; %d attempts were refused meanwhile",
                self._where,
                time.monotonic() - self._since,
                self._refused,
            )
            self._since, self._refused = None, 0
