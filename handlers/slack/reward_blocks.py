"""Rewards in Slack: Approve / Reject on a flagged referral's alert, the task card of a manual reward with its Done
button, pool warnings, and the listeners for those buttons (Approve / Reject through handlers/slack/review.py).
Task cards are rendered when they are sent, from the reward as it is then, like the referral alerts."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.models import OutboxRow, Referral, Status
from bot.core.unit_of_work import Units
from bot.delivery.outbox import SendFailed
from bot.program.texts import Texts
from bot.rewards.ledger import Rewards
from bot.team.alerts import Alerts
from bot.team.review import ReviewQueue
from handlers.slack.api_errors import PERMANENT
from handlers.slack.managers import ManagersOnly
from handlers.slack.readers import Readers
from handlers.slack.replays import action_id
from handlers.slack.review import ReviewRoutes
from storage.base import Store

Block = dict[str, Any]
KINDS = frozenset({"reward_task", "reward_task_update", "reward_notice"})


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _button(label: str, action_id: str, value: str, style: str) -> Block:
    text = {"type": "plain_text", "text": label[:75], "emoji": True}
    return {"type": "button", "text": text, "action_id": action_id, "value": value, "style": style}


def review(referral: Referral, screens: Texts) -> list[Block]:
    """What a flagged referral's alert adds: the buttons while its rewards are held, then who decided."""
    if not referral.flagged or referral.status == Status.REJECTED:
        return []
    if referral.review is not None:
        context = screens.team("reward_review_state", referral=referral)
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}]
    buttons = [
        _button(screens.team_label("slack_approve"), "referral_approve", referral.id, "primary"),
        _button(screens.team_label("slack_reject"), "referral_reject", referral.id, "danger"),
    ]
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": screens.team("reward_review_pending")}]},
        {"type": "actions", "block_id": f"review:{referral.id}", "elements": buttons},
    ]


class RewardSender:
    """The sender of the reward rows (KINDS): task cards, their updates after Done, and pool warnings. The
    dispatcher hands it those rows by kind; every other Slack row goes to the Slack sender."""

    def __init__(self, client: AsyncWebClient, store: Store, screens: Texts) -> None:
        self._client = client
        self._store = store
        self._screens = screens

    async def send(self, row: OutboxRow) -> str | None:
        kind = row.payload.get("kind")
        try:
            if kind == "reward_notice":
                return str((await self._client.chat_postMessage(channel=row.chat_id, text=row.payload["text"]))["ts"])
            text, blocks = await self._task(row.payload["reward_id"])
            if kind == "reward_task_update":
                await self._client.chat_update(channel=row.chat_id, ts=row.payload["ts"], text=text, blocks=blocks)
                return str(row.payload["ts"])
            return str((await self._client.chat_postMessage(channel=row.chat_id, text=text, blocks=blocks))["ts"])
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown_error"))
            if error.response.status_code == 429:
                retry_after = float(error.response.headers.get("Retry-After", 1))
                raise SendFailed(f"rate limited: {code}", retry_after=retry_after, throttled=True) from error
            raise SendFailed(code, permanent=code in PERMANENT) from error
        except (OSError, TimeoutError) as error:
            raise SendFailed(f"network: {error}") from error

    async def _task(self, reward_id: str) -> tuple[str, list[Block]]:
        async with self._store.reading() as tx:
            reward = await tx.reward(reward_id)
            customer = await tx.customer(reward.customer_id) if reward else None
        if reward is None or customer is None:
            raise SendFailed(f"reward {reward_id} not found", permanent=True)
        blocks = [_section(self._screens.team("reward_task", reward=reward, customer=customer))]
        if reward.fulfilled_at is None and reward.status == "issued":
            done = _button(self._screens.team_label("slack_done"), "reward_done", reward.id, "primary")
            blocks.append({"type": "actions", "block_id": f"reward:{reward.id}", "elements": [done]})
        return self._screens.team("reward_task_fallback", reward=reward, customer=customer), blocks


class RewardRoutes:
    """Approve / Reject (managers only, see handlers/slack/managers.py) and Done. Applied before they are
    acknowledged, like every click."""

    def __init__(self, units: Units, alerts: Alerts, readers: Readers | None = None) -> None:
        self._rewards = Rewards(units)
        self._readers = readers
        self._review = ReviewRoutes(ReviewQueue(units, alerts), units.store, units.screens, units.clock, readers)

    def install(self, app: AsyncApp, managers: ManagersOnly) -> None:
        self._review.install(app, managers)
        app.action("reward_done")(self.done)

    async def done(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        action, container = body["actions"][0], body["container"]
        if self._readers is not None:  # their language, kept where the domain words a refusal
            await self._readers.own(body["user"]["id"])
        refusal = await self._rewards.done(
            action_id(body), action["value"], body["user"]["id"], container["channel_id"], container["message_ts"]
        )
        await ack()
        await _explain(refusal, respond)


async def _explain(refusal: str | None, respond: AsyncRespond) -> None:
    if refusal:
        await respond(text=refusal, response_type="ephemeral", replace_original=False)
