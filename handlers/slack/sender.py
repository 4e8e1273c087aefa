"""Turns Slack outbox rows into Web API calls, and Slack errors into retry decisions."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import alert_key, load_alert
from bot.clock import Clock
from bot.models import OutboxRow
from bot.outbox import SendFailed
from bot.screens import Screens
from handlers.slack import blocks
from storage.base import Store

# Errors no retry can fix: the channel or person is gone, or the bot was removed.
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "account_inactive",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "not_authed",
    "message_not_found",
}


class SlackSender:
    def __init__(self, client: AsyncWebClient, store: Store, screens: Screens, clock: Clock) -> None:
        self._client = client
        self._store = store
        self._screens = screens
        self._clock = clock

    async def send(self, row: OutboxRow) -> str | None:
        try:
            return await self._send(row.chat_id, row.payload)
        except SlackApiError as error:
            raise _failure(error) from error
        except (OSError, TimeoutError) as error:
            raise SendFailed(f"network: {error}") from error

    async def _send(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        kind = payload["kind"]
        if kind in ("alert", "alert_update"):
            return await self._alert(chat_id, payload["referral_id"], update=kind == "alert_update")
        if kind == "thread":
            thread_ts = await self._alert_ts(payload["referral_id"])
            reply = await self._client.chat_postMessage(channel=chat_id, text=payload["text"], thread_ts=thread_ts)
            return str(reply["ts"])
        if kind == "dm":
            opened = await self._client.conversations_open(users=payload["user"])
            channel = opened["channel"]["id"]
            return str((await self._client.chat_postMessage(channel=channel, text=payload["text"]))["ts"])
        raise SendFailed(f"unknown Slack row kind {kind!r}", permanent=True)

    async def _alert_ts(self, referral_id: str) -> str:
        ts = await self._store.sent_message_id(alert_key(referral_id))
        if ts is None:  # the alert itself is not out yet; its rows in this channel are queued behind it
            raise SendFailed("the alert is not posted yet", retry_after=1.0)
        return ts

    async def _alert(self, channel: str, referral_id: str, update: bool) -> str | None:
        view = await load_alert(self._store, referral_id, self._clock.now())
        if view is None:
            raise SendFailed(f"referral {referral_id} not found", permanent=True)
        text, alert_blocks = blocks.alert(view, self._screens)
        if update:
            ts = await self._alert_ts(referral_id)
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=alert_blocks)
            return ts
        posted = await self._client.chat_postMessage(channel=channel, text=text, blocks=alert_blocks)
        return str(posted["ts"])


def _failure(error: SlackApiError) -> SendFailed:
    response = error.response
    code = str(response.get("error", "unknown_error"))
    if response.status_code == 429:
        retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
        return SendFailed(f"rate limited: {code}", retry_after=retry_after)
    return SendFailed(code, permanent=code in PERMANENT)
