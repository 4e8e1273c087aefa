"""What the outbox dispatcher works with: the senders' seam, how a send fails, the policy it follows, and the
platforms it cannot reach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

from bot.core.models import OutboxRow
from bot.delivery.rate_limits import ChatRate


class SendFailed(Exception):
    """A send that did not go through. `retry_after` is the platform's own wait; `permanent`
    means trying again cannot help (blocked by the user, chat gone); `unreachable` that the platform could not be
    reached at all (refused, timed out, a gateway error), which says nothing about the message."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        permanent: bool = False,
        throttled: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent
        self.throttled = throttled  # the platform itself said "too many requests": pause all sends to it
        self.unreachable = unreachable


class Sender(Protocol):
    async def send(self, row: OutboxRow) -> str | None:
        """Deliver one row; return the platform's message id. Raise SendFailed when it did not go."""


@runtime_checkable
class BatchSender(Protocol):
    async def send_batch(self, rows: Sequence[OutboxRow]) -> dict[str, str]:
        """Send some leading rows of one chat merged into one message; return row id → message id
        for those it sent (none when merging is not due)."""


@dataclass(frozen=True)
class DispatchPolicy:
    batch: int = 200
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 12
    max_backoff: float = 300.0
    outage_backoff: float = 60.0  # the longest wait between tries of a platform that cannot be reached
    idle_wait: float = 1.0
    claim_gap: float = 0.02
    concurrency: int = 1  # sends in flight per platform: each is one a crash could repeat
    # Overall sends a second per platform, shared out by lane (bot/delivery/lanes.py); a platform not named has none.
    budgets: tuple[tuple[str, float], ...] = (("telegram", 30.0),)
    lane_weights: tuple[int, int, int, int] = (8, 4, 2, 1)
    # Of `batch`, how many bulk rows may be claimed: the rest is room for a reply queued while a campaign waits.
    bulk_share: float = 0.5
    rates: tuple[tuple[str, ChatRate], ...] = (
        ("telegram", ChatRate(1.0, 3)),
        ("slack", ChatRate(1.0, 1)),
        ("webhook", ChatRate(5.0, 1)),  # per receiving URL
    )


class Outages:
    """Platforms that cannot be reached. One send at a time tries, after 1, 2, 4… seconds up to a ceiling, while
    every other send to the platform waits for it (none of them counts as an attempt of its message); the first that
    goes through ends the outage. Sending on regardless would only knock at a closed door once per waiting message."""

    def __init__(self, ceiling: float) -> None:
        self._ceiling = ceiling
        self._failures: dict[str, int] = {}

    def failed(self, platform: str) -> float:
        """Another try that could not reach the platform: seconds to wait before the next."""
        tries = self._failures.get(platform, 0)
        self._failures[platform] = tries + 1
        return min(self._ceiling, 2.0**tries)

    def reached(self, platform: str) -> bool:
        """A send went through: True when that ended an outage."""
        return self._failures.pop(platform, None) is not None
