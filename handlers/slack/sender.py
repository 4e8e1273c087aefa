"""Turns Slack outbox rows into Web API calls, and Slack errors into retry decisions.

When a channel's backlog of new alerts passes the digest threshold, waiting alerts are merged
into digest messages (one line and a Claim button per referral), so a burst never buries the
channel or outlasts Slack's one-message-a-second limit. A digested referral gets its own card the
first time anything happens to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.core.models import OutboxRow
from bot.delivery.outbox import SendFailed
from bot.program.texts import Texts
from bot.team.alerts import AlertView, load_alert
from bot.team.scripts import call_script
from handlers.slack import blocks
from handlers.slack.api_errors import PERMANENT
from handlers.slack.offers import KINDS as OFFER_KINDS
from handlers.slack.offers import OfferCards
from handlers.slack.readers import kept_locale
from storage.base import Store

log = logging.getLogger(__name__)

DIGEST_SIZE = 20  # referrals per digest message; each is one section, well under Block Kit's 50 blocks
# Alerts and digests carry the referrals they show in message metadata, so after a crash the channel's history
# tells whether a send cut short had in fact been posted.
ALERT_EVENT = "referral_alert"
CLOCK_SKEW = timedelta(minutes=5)  # our clock against Slack's, when looking back for such a post


class SlackSender:
    def __init__(
        self, client: AsyncWebClient, store: Store, screens: Texts, clock: Clock, digest_threshold: int = 60
    ) -> None:
        self._client = client
        self._store = store
        self._screens = screens
        self._clock = clock
        self._threshold = digest_threshold
        self._offers = OfferCards(client, store, screens, clock)  # routing's DM cards

    async def send(self, row: OutboxRow) -> str | None:
        try:
            await self._recover(row.chat_id, [row])
            return await self._send(row.chat_id, row.payload)
        except SlackApiError as error:
            raise _failure(error) from error
        except (OSError, TimeoutError) as error:
            raise SendFailed(f"network: {error}", unreachable=True) from error

    async def send_batch(self, rows: Sequence[OutboxRow]) -> dict[str, str]:
        """Merge the leading new-alert rows into one digest when the channel is backed up.
        Returns the rows it sent (row id → message ts); none when no digest is due."""
        chunk: list[OutboxRow] = []
        for row in rows:
            if row.payload.get("kind") != "alert" or len(chunk) == DIGEST_SIZE:
                break
            chunk.append(row)
        if len(chunk) < 2 or await self._store.waiting_alerts(rows[0].chat_id) < self._threshold:
            return {}
        try:
            await self._recover(rows[0].chat_id, chunk)
            return await self._digest(rows[0].chat_id, chunk)
        except SlackApiError as error:
            raise _failure(error) from error
        except (OSError, TimeoutError) as error:  # not left to escape: it would end the chat's sending task
            raise SendFailed(f"network: {error}", unreachable=True) from error

    async def _digest(self, channel: str, chunk: Sequence[OutboxRow]) -> dict[str, str]:
        views, settled = [], {}
        for row in chunk:
            known = await self._store.alert_message(row.payload["referral_id"])
            if known is not None:  # already out before a crash: do not list it a second time
                settled[row.id] = known[0]
            else:
                views.append(await load_alert(self._store, row.payload["referral_id"], self._clock.now()))
        present = [view for view in views if view is not None]
        if not present:
            return settled
        text, digest_blocks = blocks.digest(present, self._screens)
        referral_ids = [view.referral.id for view in present]
        ts = str(
            (
                await self._client.chat_postMessage(
                    channel=channel, text=text, blocks=digest_blocks, metadata=_alert_metadata(referral_ids, True)
                )
            )["ts"]
        )
        await self._store.remember_alerts(referral_ids, channel, ts, True, self._clock.now(), with_send=True)
        return {row.id: settled.get(row.id, ts) for row in chunk}

    async def _send(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        kind = payload["kind"]
        if kind in ("alert", "alert_update"):
            return await self._alert(chat_id, payload["referral_id"], update=kind == "alert_update")
        if kind in OFFER_KINDS:
            return await self._offers.send(payload)
        if kind == "thread":
            thread_ts = await self._card_ts(chat_id, payload["referral_id"])
            reply = await self._client.chat_postMessage(channel=chat_id, text=payload["text"], thread_ts=thread_ts)
            return str(reply["ts"])
        if kind == "notice":  # a plain message to a channel, such as an unhappy customer's NPS answer
            return str((await self._client.chat_postMessage(channel=chat_id, text=payload["text"]))["ts"])
        if kind == "dm":
            opened = await self._client.conversations_open(users=payload["user"])
            channel = opened["channel"]["id"]
            return str((await self._client.chat_postMessage(channel=channel, text=payload["text"]))["ts"])
        if kind == "redact":
            return await self._redact(chat_id, payload)
        if kind == "script":
            return await self._script(payload)
        raise SendFailed(f"unknown Slack row kind {kind!r}", permanent=True)

    async def _script(self, payload: dict[str, Any]) -> str | None:
        """The call script, for the rep who claimed only: ephemeral in the alert channel, or a direct message when
        Slack says they are not in it (they left since, or clicked in a public channel they never joined)."""
        user = payload["user"]
        locale = await kept_locale(self._store, self._screens, user)  # shown to the one rep: in their language
        text = await call_script(self._store, self._screens, payload["referral_id"], self._clock.now(), locale)
        if text is None:
            return None  # the referral was erased since: there is no call left to make
        fallback, shown = blocks.fit(text), blocks.script(text, self._screens, locale)
        try:
            reply = await self._client.chat_postEphemeral(
                channel=payload["channel"], user=user, text=fallback, blocks=shown
            )
            return str(reply["message_ts"])
        except SlackApiError as error:
            if error.response.get("error") != "user_not_in_channel":
                raise
        channel = (await self._client.conversations_open(users=user))["channel"]["id"]
        return str((await self._client.chat_postMessage(channel=channel, text=fallback, blocks=shown))["ts"])

    async def _redact(self, chat_id: str, payload: dict[str, Any]) -> str:
        """A message that quoted a person who asked to be forgotten: its text is replaced where the team sees it."""
        locale = None  # a channel's message: the team's language
        if payload.get("user"):  # a direct message: its channel is the conversation with that rep, in their language
            chat_id = (await self._client.conversations_open(users=payload["user"]))["channel"]["id"]
            locale = await kept_locale(self._store, self._screens, payload["user"])
        text = self._screens.team("redacted", locale)
        try:
            await self._client.chat_update(channel=chat_id, ts=payload["ts"], text=text)
        except SlackApiError as error:
            if error.response.get("error") != "message_not_found":  # already deleted by someone: nothing to redact
                raise
        return str(payload["ts"])

    async def _card_ts(self, channel: str, referral_id: str) -> str:
        """The ts of the referral's own alert card, posting the card now if it was only in a digest."""
        known = await self._store.alert_message(referral_id)
        if known is None:  # the alert is not out yet; rows for this channel are queued behind it
            raise SendFailed("the alert is not posted yet", retry_after=1.0)
        ts, digest = known
        if digest:
            ts = await self._post_card(channel, referral_id)
        return ts

    async def _alert(self, channel: str, referral_id: str, update: bool) -> str | None:
        known = await self._store.alert_message(referral_id)
        if not update:
            # Already out (a send retried after a crash): posting again would only duplicate it.
            return known[0] if known else await self._post_card(channel, referral_id)
        if known is None or known[1]:
            return await self._card_ts(channel, referral_id)
        view = await self._view(referral_id)
        text, alert_blocks = blocks.alert(view, self._screens)
        await self._client.chat_update(channel=channel, ts=known[0], text=text, blocks=alert_blocks)
        return known[0]

    async def _post_card(self, channel: str, referral_id: str) -> str:
        text, alert_blocks = blocks.alert(await self._view(referral_id), self._screens)
        metadata = _alert_metadata([referral_id], False)
        ts = str(
            (await self._client.chat_postMessage(channel=channel, text=text, blocks=alert_blocks, metadata=metadata))[
                "ts"
            ]
        )
        # Recorded with the send itself (mark_sent): a crash before that commit leaves the row leased, and the
        # next start finds the card by its metadata (_recover) instead of posting it again.
        await self._store.remember_alerts([referral_id], channel, ts, False, self._clock.now(), with_send=True)
        return ts

    async def _recover(self, channel: str, rows: Sequence[OutboxRow]) -> None:
        """Rows whose sender died mid-send may be in the channel already: find their alerts by metadata
        and record them, so they are not posted twice. Without history access, posting again is the fallback."""
        wanted = {
            row.payload["referral_id"]: row.created_at
            for row in rows
            if row.reclaimed and row.payload.get("kind") == "alert"
        }
        for referral_id in list(wanted):
            if await self._store.alert_message(referral_id) is not None:
                del wanted[referral_id]
        if not wanted:
            return
        oldest = (min(wanted.values()) - CLOCK_SKEW).timestamp()
        try:
            history = await self._client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200
            )
            async for page in history:
                for message in page.get("messages", []):
                    await self._remember_found(channel, message, wanted)
                if not wanted:
                    return
        except SlackApiError as error:
            log.warning("could not read %s's history to avoid a repeat post: %s", channel, error.response.get("error"))

    async def _remember_found(self, channel: str, message: dict[str, Any], wanted: dict[str, Any]) -> None:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") != ALERT_EVENT:
            return
        payload = metadata.get("event_payload") or {}
        found = [referral_id for referral_id in payload.get("referrals", []) if referral_id in wanted]
        if found:
            log.info("%d alerts found already posted in %s after a restart", len(found), channel)
            await self._store.remember_alerts(
                found, channel, message["ts"], bool(payload.get("digest")), self._clock.now()
            )
            for referral_id in found:
                del wanted[referral_id]

    async def _view(self, referral_id: str) -> AlertView:
        view = await load_alert(self._store, referral_id, self._clock.now(), timed=True)
        if view is None:
            raise SendFailed(f"referral {referral_id} not found", permanent=True)
        return view


def _alert_metadata(referral_ids: Sequence[str], digest: bool) -> dict[str, Any]:
    return {"event_type": ALERT_EVENT, "event_payload": {"referrals": list(referral_ids), "digest": digest}}


def _failure(error: SlackApiError) -> SendFailed:
    response = error.response
    code = str(response.get("error", "unknown_error"))
    if response.status_code == 429:
        retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
        return SendFailed(f"rate limited: {code}", retry_after=retry_after, throttled=True)
    return SendFailed(code, permanent=code in PERMANENT)
