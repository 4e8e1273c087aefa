"""Who may do what a manager does in Slack, checked once: bolt listener middleware in front of every manager-only
listener. A refused click or command reaches no listener and changes nothing; the person is told privately why.

The Home tab is not guarded here: everyone may open it, and whether it shows the dashboard is decided when the view
is rendered (handlers/slack/home.py), so someone who stops being a manager stops seeing the figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse

from bot.program.texts import Texts
from bot.team.alerts import Team
from handlers.slack.readers import Readers

OPEN_TO_ALL = frozenset({"pending", "help", "away", "back"})  # the `/referrals` subcommands a rep may use too
Next = Callable[[], Awaitable[BoltResponse]]


def subcommand(text: str | None) -> tuple[str, list[str]]:
    """`/referrals <name> <args…>` as (name, args); no text is `help`."""
    words = (text or "").split()
    return (words[0].lower(), words[1:]) if words else ("help", [])


class ManagersOnly:
    """The manager check as listener middleware. Passing requests carry `context["manager"]`, so a listener open to
    all (the help text) can still tell a manager apart without asking again."""

    def __init__(self, team: Team, screens: Texts, readers: Readers | None = None) -> None:
        self._team = team
        self._screens = screens
        self._readers = readers  # a refusal is read by the one refused: in their language

    async def _locale(self, user: str) -> str | None:
        return await self._readers.locale(user) if self._readers is not None else None

    async def command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond, next_: Next
    ) -> BoltResponse:
        """`/referrals`: every subcommand but pending and help."""
        name, _ = subcommand(body.get("text"))
        if self._allowed(context) or name in OPEN_TO_ALL:
            return await next_()
        response = await ack()
        refusal = self._screens.team("not_manager", await self._locale(context.user_id or ""), command=name[:30])
        await respond(text=refusal, response_type="ephemeral")
        return response

    async def review(
        self, ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond, next_: Next
    ) -> BoltResponse:
        """Approve / Reject: a held referral in the review queue, or a flagged referral's held rewards on its alert."""
        if self._allowed(context):
            return await next_()
        response = await ack()
        refusal = self._screens.team("reward_refused", await self._locale(context.user_id or ""), reason="not_manager")
        await respond(text=refusal, response_type="ephemeral", replace_original=False)
        return response

    async def action(
        self, ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond, next_: Next
    ) -> BoltResponse:
        """Reassign on a routed referral's card."""
        if self._allowed(context):
            return await next_()
        response = await ack()
        refusal = self._screens.team("routing_refused", await self._locale(context.user_id or ""), reason="not_manager")
        await respond(text=refusal, response_type="ephemeral", replace_original=False)
        return response

    def _allowed(self, context: AsyncBoltContext) -> bool:
        context["manager"] = manager = self._team.is_manager(context.user_id or "")
        return manager
