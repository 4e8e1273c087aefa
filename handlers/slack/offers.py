"""Routing in Slack: the DM card an offer sends a rep, its Accept and Reassign buttons, and Slack presence.

The card is rendered when it is sent, from the referral as it is then, in the rep's language; when the offer ends
(accepted, handed on, reassigned) the same DM is edited to say so, found by the ts the outbox kept for its post.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.core.routes import Offer
from bot.delivery.outbox import SendFailed
from bot.program.texts import Texts
from bot.team.alerts import load_alert
from bot.team.routing import SHOWING
from bot.team.routing_actions import RoutingActions
from bot.team.workflow import Outcome
from handlers.slack.blocks import Block, alert, fit
from handlers.slack.managers import ManagersOnly
from handlers.slack.readers import Readers
from handlers.slack.replays import action_id
from storage.base import Store

log = logging.getLogger(__name__)
KINDS = ("offer", "offer_update")  # the Slack outbox rows this module sends
REASSIGN = "referral_reassign"
# Slack's answers that mean the app may not read presence: ask no more until the app is installed again.
NO_PRESENCE = frozenset({"missing_scope", "not_allowed_token_type", "no_permission", "invalid_auth"})


class OfferCards:
    """Posts and edits the DM card of an offer, for the Slack sender."""

    def __init__(self, client: AsyncWebClient, store: Store, screens: Texts, clock: Clock) -> None:
        self._client = client
        self._store = store
        self._screens = screens
        self._clock = clock

    async def send(self, payload: dict[str, Any]) -> str | None:
        async with self._store.reading() as tx:
            offer = await tx.offer(payload["offer_id"])
            ts = await tx.offer_message(payload["offer_id"]) if payload["kind"] == "offer_update" else None
        if offer is None:
            return None
        if payload["kind"] == "offer_update" and ts is None:  # the card is not out yet: its row is ahead in this lane
            raise SendFailed("the offer's card is not posted yet", retry_after=1.0)
        text, shown = await self.card(offer)
        channel = (await self._client.conversations_open(users=offer.rep))["channel"]["id"]
        if ts is None:
            return str((await self._client.chat_postMessage(channel=channel, text=text, blocks=shown))["ts"])
        await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=shown)
        return ts

    async def card(self, offer: Offer) -> tuple[str, list[Block]]:
        """The header, then, while it is theirs to take or theirs, the referral's card: all in the rep's language
        (the channel's copy of the card is in the team's)."""
        screens = self._screens.read_by(offer.locale)
        header = screens.team(
            "routing_offer",
            status=offer.status,
            minutes=screens.program.routing.accept_within_minutes,
            next_rep=offer.next_rep,
            by=offer.settled_by,
        )
        head: Block = {"type": "section", "text": {"type": "mrkdwn", "text": fit(header)}}
        view = await load_alert(self._store, offer.referral_id, self._clock.now())
        if view is None or offer.status not in SHOWING:
            return fit(header), [head]
        fallback, body = alert(view, screens)
        for block in body:
            if block.get("type") == "actions":
                block["block_id"] = f"offer:{offer.id}"
                block["elements"] = self._buttons(block["elements"], offer, screens)
        return fallback, [head, *body]

    def _buttons(self, elements: list[Block], offer: Offer, screens: Texts) -> list[Block]:
        kept = [e for e in elements if e.get("action_id") != REASSIGN]  # a manager reassigns from the channel
        if offer.status != "pending":
            return kept
        label = screens.team_label("slack_accept")
        accept: Block = {
            "type": "button",
            "text": {"type": "plain_text", "text": label[:75], "emoji": True},
            "action_id": "referral_accept",
            "value": offer.referral_id,
            "style": "primary",
        }
        return [accept, *kept]


class SlackPresence:
    """Whether Slack shows a rep away (users.getPresence, with the users:read scope). Without the scope, or when
    Slack does not answer, everyone counts as there: routing must not stall on it. Asking also learns the rep's own
    language (`readers`), so a rep who never used the bot still gets their first offer card in it."""

    def __init__(self, client: AsyncWebClient, readers: Readers | None = None) -> None:
        self._client = client
        self._readers = readers
        self._refused = False

    async def away(self, user_id: str) -> bool:
        if self._readers is not None:
            await self._readers.own(user_id)  # kept in team_members, where the offer's card takes its language
        if self._refused:
            return False
        try:
            answer = await self._client.users_getPresence(user=user_id)
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in NO_PRESENCE:
                self._refused = True
                log.info("Slack presence not readable (%s): only /referrals away marks a rep away", code)
            return False
        except (OSError, TimeoutError):
            return False
        return answer.get("presence") == "away"


class RoutingRoutes:
    """Accept on the DM card, and a manager's Reassign on the alert card."""

    def __init__(self, actions: RoutingActions, screens: Texts) -> None:
        self._actions = actions
        self._screens = screens

    def install(self, app: AsyncApp, managers: ManagersOnly) -> None:
        app.action("referral_accept")(self.accept)
        app.action(REASSIGN, middleware=[managers.action])(self.open_reassign)
        app.view(REASSIGN)(self.reassigned)

    async def accept(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = body["actions"][0]
        outcome = await self._actions.accept(action_id(body), action["value"], body["user"]["id"])
        await ack()  # after the commit: Slack does not resend an acknowledged click
        await _explain(outcome, respond)

    async def open_reassign(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        referral_id = body["actions"][0]["value"]
        await client.views_open(trigger_id=body["trigger_id"], view=self.reassign_modal(referral_id))
        await ack()

    def reassign_modal(self, referral_id: str) -> Block:
        label = self._screens.team_label
        field: Block = {
            "type": "input",
            "block_id": "rep",
            "label": {"type": "plain_text", "text": label("slack_reassign_to")},
            "element": {"type": "users_select", "action_id": "value"},
        }
        return {
            "type": "modal",
            "callback_id": REASSIGN,
            "private_metadata": referral_id,
            "title": {"type": "plain_text", "text": label("slack_reassign_title")[:24]},
            "submit": {"type": "plain_text", "text": label("slack_submit")[:24]},
            "blocks": [field],
        }

    async def reassigned(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        answer = view["state"]["values"]["rep"]["value"]
        rep = str(answer.get("selected_user") or "")
        user = body["user"]["id"]
        outcome = await self._actions.reassign(f"slack:view:{view['id']}", view["private_metadata"], user, rep)
        await ack()
        if outcome.refused:
            await client.chat_postMessage(channel=user, text=outcome.refused)


async def _explain(outcome: Outcome, respond: AsyncRespond) -> None:
    if outcome.refused:
        await respond(text=outcome.refused, response_type="ephemeral", replace_original=False)
