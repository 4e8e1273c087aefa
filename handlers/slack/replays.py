"""Signed Slack requests that arrive twice run once.

A signature stays valid for Slack's five-minute window, so a captured request can be sent again in that time, and
Slack itself retries what it thinks was lost. Each click, submission and slash command is therefore keyed by who
sent it and Slack's id for that one request, recorded with the other processed inbound ids: a click or submission
through its unit of work, a slash command (most only read) on its own, before it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.response import BoltResponse

from bot.core.clock import Clock
from storage.base import Store

Next = Callable[[], Awaitable[BoltResponse]]


def action_id(body: dict[str, Any]) -> str:
    """A click's inbound id. The trigger id is unique per click and repeated when the same request comes again;
    the action's timestamp stands in for it when there is none."""
    request = body.get("trigger_id") or body["actions"][0].get("action_ts")
    return f"slack:action:{body['user']['id']}:{request}"


class Replays:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def command(self, ack: AsyncAck, body: dict[str, Any], next_: Next) -> BoltResponse:
        """Listener middleware for slash commands: a repeat is acknowledged, and nothing else happens."""
        inbound = f"slack:command:{body.get('user_id')}:{body.get('trigger_id')}"
        if not body.get("trigger_id") or await self._store.claim_inbound(inbound, self._clock.now()):
            return await next_()
        return await ack()
