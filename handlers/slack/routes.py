"""Bolt listeners for the rep workflow. A click is applied (committed) before it is acknowledged,
because Slack does not resend an acknowledged click; refusals come back as ephemeral messages."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.validation import storable
from bot.program.texts import Texts
from bot.team.workflow import Outcome, TeamService
from handlers.slack import blocks
from handlers.slack.readers import Readers
from handlers.slack.replays import action_id
from messages.renderer import clean

log = logging.getLogger(__name__)
DIRECT_ACTIONS = re.compile(r"^referral_(claim|contacted|flag)(?:_\d+)?$")
MODAL_ACTIONS = re.compile(r"^referral_(converted|lost|message)$")
MAX_DEAL = Decimal("1000000000")


class SlackRoutes:
    def __init__(self, team: TeamService, screens: Texts, readers: Readers | None = None) -> None:
        self._team = team
        self._screens = screens
        self._readers = readers

    async def _locale(self, user: str) -> str | None:
        """The language of the person who acted (kept in team_members, so the domain's refusals are in it too)."""
        return await self._readers.locale(user) if self._readers is not None else None

    def install(self, app: AsyncApp) -> None:
        app.action(DIRECT_ACTIONS)(self.direct_action)
        app.action(MODAL_ACTIONS)(self.open_modal)
        app.action("referral_script")(self.show_script)
        app.view(re.compile(r"^referral_(converted|lost|message)$"))(self.submitted)

    async def direct_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = body["actions"][0]
        match = DIRECT_ACTIONS.match(action["action_id"])
        assert match is not None  # bolt routed it here by this pattern
        kind, user = match.group(1), body["user"]["id"]
        await self._locale(user)
        outcome = await self._team.act(action_id(body), action["value"], kind, user)
        await ack()
        await self._explain(outcome, respond)

    async def open_modal(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        action = body["actions"][0]
        kind = action["action_id"].removeprefix("referral_")
        locale = await self._locale(body["user"]["id"])
        view = blocks.modal(self._screens, kind, action["value"], locale)
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    async def show_script(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Whoever presses Call script reads it in a modal of their own; it changes nothing, so there is nothing to
        record before the answer."""
        locale = await self._locale(body["user"]["id"])
        text = await self._team.call_script(body["actions"][0]["value"], locale)
        if text is None:
            await ack()
            await self._explain(Outcome(self._screens.team("refused_missing", locale)), respond)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.script_modal(self._screens, text, locale))
        await ack()

    async def submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        kind = view["callback_id"].removeprefix("referral_")
        referral_id, user = view["private_metadata"], body["user"]["id"]
        text = storable((view["state"]["values"]["answer"]["value"].get("value") or "").strip())
        problem = check_answer(kind, text, self._screens, await self._locale(user))
        if problem is not None:  # shown under the field; the modal stays open and nothing is stored
            await ack(response_action="errors", errors={"answer": problem})
            return
        inbound = f"slack:view:{view['id']}"
        if kind == "message":
            outcome = await self._team.message_friend(inbound, referral_id, user, text)
        elif kind == "lost":
            outcome = await self._team.act(inbound, referral_id, "lost", user, reason=text)
        else:
            outcome = await self._team.act(inbound, referral_id, "converted", user, deal_value=parse_deal_value(text))
        await ack()
        if outcome.refused:
            await client.chat_postMessage(channel=user, text=outcome.refused)

    @staticmethod
    async def _explain(outcome: Outcome, respond: AsyncRespond) -> None:
        if outcome.refused:
            await respond(text=outcome.refused, response_type="ephemeral", replace_original=False)


def check_answer(kind: str, text: str, screens: Texts, locale: str | None = None) -> str | None:
    """What is wrong with a modal answer, in words for the rep (in their `locale`); None when it can be used."""
    if len(text) > blocks.MAX_INPUT[kind]:
        return screens.team_label("slack_error_too_long", locale, limit=f"{blocks.MAX_INPUT[kind]:,}")
    if kind == "message" and not clean(text).strip():
        return screens.team_label("slack_error_no_message", locale)
    problem = parse_deal_value(text) if kind == "converted" else None
    return screens.team_label(problem, locale) if isinstance(problem, str) else None


# 1200, 1,200, 1200.50, 1,200.50 — or the European 1.200,50 and 1200,50. Nothing else is guessed at.
_ENGLISH = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
_EUROPEAN = re.compile(r"^(\d{1,3}(\.\d{3})+|\d+)(,\d{1,2})?$")


def parse_deal_value(text: str) -> Decimal | str | None:
    """The deal value, None when left empty, or the label of the error to show under the field."""
    cleaned = re.sub(r"[\s$€£]", "", text)
    if not cleaned:
        return None
    if _ENGLISH.match(cleaned):
        number = cleaned.replace(",", "")
    elif _EUROPEAN.match(cleaned):
        number = cleaned.replace(".", "").replace(",", ".")
    else:
        return "slack_error_amount"
    value = Decimal(number)
    if value > MAX_DEAL:
        return "slack_error_amount_too_big"
    return value.quantize(Decimal("0.01"))
