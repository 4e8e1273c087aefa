"""Delivers webhook outbox rows: one signed POST per row to the row's URL (its chat id).

2xx is delivered. 429, 5xx and network errors are tried again with the outbox's backoff (a 429's
Retry-After honoured); any other answer is a dead letter, as repeating the same request cannot help.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import aiohttp

from bot.core.models import OutboxRow
from bot.delivery.outbox import SendFailed
from bot.integrations.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=10)


class WebhookSender:
    """Async context manager holding one HTTP session for every receiver."""

    def __init__(self, secret: str, unix_now: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._unix_now = unix_now  # the wall clock: receivers compare the signed time with theirs
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookSender:
        self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers={"User-Agent": "referral-bot-webhooks"})
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, row: OutboxRow) -> str | None:
        assert self._session is not None, "enter the sender before sending"
        body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(self._unix_now())),
            EVENT_ID_HEADER: str(row.payload["id"]),
        }
        try:
            async with self._session.post(row.chat_id, data=body, headers=headers) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendFailed(f"webhook {row.chat_id}: {type(exc).__name__}: {exc}") from None
        if 200 <= status < 300:
            return str(row.payload["id"])
        reason = f"webhook {row.chat_id} answered {status}"
        if status == 429:
            raise SendFailed(reason, retry_after=_seconds(retry_after))
        if status >= 500:
            raise SendFailed(reason)
        raise SendFailed(reason, permanent=True)


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
