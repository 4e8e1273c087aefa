"""The Bot API's overall limit on messages a bot sends: about 30 a second across all chats, as a token bucket."""

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
