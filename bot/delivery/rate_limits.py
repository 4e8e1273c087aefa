"""How fast the outbox may talk to each platform: a leaky bucket per chat, and a pause for the
whole platform when it answers 429 with a wait.

The overall Telegram limit is paced by the outbox's lane budget (bot/delivery/lanes.py), the per-group one by
python-telegram-bot's AIORateLimiter on the bot itself (which also backs the overall one); these buckets add the
per-chat limits that neither SDK enforces.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter

from bot.core.clock import Clock


@dataclass(frozen=True)
class ChatRate:
    per_second: float
    burst: int = 1


class ChatLimits:
    """One bucket per (platform, chat). Old buckets are forgotten so memory stays flat."""

    def __init__(self, rates: dict[str, ChatRate], clock: Clock, keep: int = 20_000) -> None:
        self._rates = rates
        self._clock = clock
        self._keep = keep
        self._buckets: OrderedDict[tuple[str, str], AsyncLimiter] = OrderedDict()
        self._paused_until: dict[str, datetime] = {}

    async def wait_turn(self, platform: str, chat_id: str) -> None:
        rate = self._rates.get(platform)
        if rate is None:
            return
        key = (platform, chat_id)
        bucket = self._buckets.pop(key, None) or AsyncLimiter(rate.burst, rate.burst / rate.per_second)
        self._buckets[key] = bucket
        while len(self._buckets) > self._keep:
            self._buckets.popitem(last=False)
        await bucket.acquire()

    def pause(self, platform: str, seconds: float) -> datetime:
        """The platform asked us to wait: nothing goes to it before this moment."""
        until = self._clock.now() + timedelta(seconds=seconds)
        self._paused_until[platform] = max(until, self._paused_until.get(platform, until))
        return self._paused_until[platform]

    def paused_until(self, platform: str) -> datetime | None:
        until = self._paused_until.get(platform)
        return until if until is not None and until > self._clock.now() else None
