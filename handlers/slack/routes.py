"""Bolt listeners for the rep workflow. A click is applied (committed) before it is acknowledged,
because Slack does not resend an acknowledged click; refusals come back as ephemeral messages."""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.screens import Screens
from bot.team import Outcome, TeamService
from handlers.slack import blocks

log = logging.getLogger(__name__)
DIRECT_ACTIONS = re.compile(r"^referral_(claim|contacted|flag)(?:_\d+)?$")
MODAL_ACTIONS = re.compile(r"^referral_(converted|lost|message)$")
MAX_DEAL = Decimal("1000000000")


def action_id(body: dict[str, Any]) -> str:
    # The trigger id is unique per click and repeated when Slack retries the same request.
    return f"slack:action:{body.get('trigger_id') or body['actions'][0].get('action_ts')}"


class SlackRoutes:
    def __init__(self, team: TeamService, screens: Screens) -> None:
        self._team = team
        self._screens = screens

    def install(self, app: AsyncApp) -> None:
        app.action(DIRECT_ACTIONS)(self.direct_action)
        app.action(MODAL_ACTIONS)(self.open_modal)
        app.view(re.compile(r"^referral_(converted|lost|message)$"))(self.submitted)

    async def direct_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = body["actions"][0]
        match = DIRECT_ACTIONS.match(action["action_id"])
        assert match is not None  # bolt routed it here by this pattern
        kind = match.group(1)
        outcome = await self._team.act(action_id(body), action["value"], kind, body["user"]["id"])
        await ack()
        await self._explain(outcome, respond)

    async def open_modal(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        action = body["actions"][0]
        kind = action["action_id"].removeprefix("referral_")
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.modal(self._screens, kind, action["value"]))
        await ack()

    async def submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        kind = view["callback_id"].removeprefix("referral_")
        referral_id, user = view["private_metadata"], body["user"]["id"]
        text = (view["state"]["values"]["answer"]["value"].get("value") or "").strip()
        inbound = f"slack:view:{view['id']}"
        if kind == "message":
            outcome = await self._team.message_friend(inbound, referral_id, user, text[:3500])
        elif kind == "lost":
            outcome = await self._team.act(inbound, referral_id, "lost", user, reason=text)
        else:
            deal = parse_deal_value(text)
            if isinstance(deal, str):
                await ack(response_action="errors", errors={"answer": deal})
                return
            outcome = await self._team.act(inbound, referral_id, "converted", user, deal_value=deal)
        await ack()
        if outcome.refused:
            await client.chat_postMessage(channel=user, text=outcome.refused)

    @staticmethod
    async def _explain(outcome: Outcome, respond: AsyncRespond) -> None:
        if outcome.refused:
            await respond(text=outcome.refused, response_type="ephemeral", replace_original=False)


def parse_deal_value(text: str) -> Decimal | str | None:
    """The deal value, None when left empty, or the error to show under the field."""
    cleaned = text.replace(",", "").replace("$", "").replace("€", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return "Please enter a number, such as 1200 or 1200.50."
    if not value.is_finite() or value < 0 or value > MAX_DEAL:
        return "Please enter an amount between 0 and 1,000,000,000."
    return value.quantize(Decimal("0.01"))
