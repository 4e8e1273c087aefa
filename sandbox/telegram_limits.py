"""The Bot API's limits on messages a bot sends, as token buckets: about 30 a second across all chats, and about one
a second in each chat."""

from __future__ import annotations

import math
import time

from sandbox.telegram_entities import ApiError

# Calls that put something in a chat count towards the limit; reading updates and answering queries do not.
MESSAGE_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagereplymarkup"})


class OverallRate:
    """`burst` messages at once, then `per_second` on average; past that a send answers 429 with retry_after."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self._tokens, self._counted = float(burst), time.monotonic()

    def take(self, method: str) -> None:
        if method.lower() not in MESSAGE_METHODS:
            return
        now = time.monotonic()
        tokens = min(float(self.burst), self._tokens + (now - self._counted) * self.per_second)
        self._counted = now
        if tokens < 1:
            self._tokens = tokens
            retry_after = max(1, math.ceil((1 - tokens) / self.per_second))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._tokens = tokens - 1


class ChatRates:
    """Telegram's limit inside one chat: about one message a second, a few at once. Past it a send to that chat
    answers 429 with retry_after, while other chats go on. `check` before the overall limit and `take` after it, so a
    send the overall limit refuses spends nothing here."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # chat → (tokens, when they were counted)

    def _level(self, chat: str, now: float) -> float:
        tokens, counted = self._buckets.get(chat, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - counted) * self.per_second)

    def check(self, method: str, chat_id: object) -> None:
        if method.lower() not in MESSAGE_METHODS or chat_id is None:
            return
        tokens = self._level(str(chat_id), time.monotonic())
        if tokens < 1:
            retry_after = max(1, math.ceil((1 - tokens) / self.per_second))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def take(self, method: str, chat_id: object) -> None:
        if method.lower() not in MESSAGE_METHODS or chat_id is None:
            return
        now = time.monotonic()
        self._buckets[str(chat_id)] = (self._level(str(chat_id), now) - 1, now)
