"""The managers' review queue in Slack: `/referrals review` lists the held referrals, each with Approve and Reject,
and a click decides one and redraws the list in place. Approve / Reject also stay on the alert of a referral flagged
before the queue existed, for its held rewards. Only managers get to the listener (handlers/slack/managers.py), and a
click is applied before it is acknowledged, like every click."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.clock import Clock
from bot.program.texts import Texts
from bot.team.dashboard import age
from bot.team.review import ReviewQueue
from handlers.slack.managers import ManagersOnly
from handlers.slack.readers import Readers
from handlers.slack.replays import action_id
from storage.base import Store

Block = dict[str, Any]
REVIEW_ACTIONS = re.compile(r"^referral_(approve|reject)(?:_\d+)?$")
QUEUE_BLOCK = "queue:"  # the block id of a queue line's buttons starts so; the alert card's do not
QUEUE_SHOWN = 10  # two blocks a line: well under Block Kit's 50


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _button(label: str, action_id: str, value: str, style: str) -> Block:
    text = {"type": "plain_text", "text": label[:75], "emoji": True}
    return {"type": "button", "text": text, "action_id": action_id, "value": value, "style": style}


async def review_queue(
    store: Store, screens: Texts, now: datetime, note: str | None = None, locale: str | None = None
) -> tuple[str, list[Block]]:
    """The queue as it is now, oldest first: fallback text and blocks, under a note on the last decision if any; in
    `locale`, the language of the manager who reads it."""
    lines = await store.review_queue(QUEUE_SHOWN)
    total = await store.review_count() if len(lines) == QUEUE_SHOWN else len(lines)
    header = screens.team("review_queue", locale, total=total, shown=len(lines))
    blocks = [_section(note)] if note else []
    blocks.append(_section(header))
    for number, line in enumerate(lines):  # action ids must differ within one message
        source = screens.team_label(f"slack_source_{line.source}", locale)
        waited = age(line.created_at, now, screens, locale)
        blocks.append(_section(screens.team("review_line", locale, line=line, source_label=source, age=waited)))
        approve = screens.team_label("slack_queue_approve", locale)
        reject = screens.team_label("slack_queue_reject", locale)
        buttons = [
            _button(approve, f"referral_approve_{number}", line.id, "primary"),
            _button(reject, f"referral_reject_{number}", line.id, "danger"),
        ]
        blocks.append({"type": "actions", "block_id": f"{QUEUE_BLOCK}{line.id}", "elements": buttons})
    return header[:3000], blocks


class ReviewRoutes:
    def __init__(
        self, queue: ReviewQueue, store: Store, screens: Texts, clock: Clock, readers: Readers | None = None
    ) -> None:
        self._queue = queue
        self._store, self._screens, self._clock = store, screens, clock
        self._readers = readers

    def install(self, app: AsyncApp, managers: ManagersOnly) -> None:
        app.action(REVIEW_ACTIONS, middleware=[managers.review])(self.reviewed)

    async def reviewed(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = body["actions"][0]
        match = REVIEW_ACTIONS.match(action["action_id"])
        assert match is not None  # bolt routed it here by this pattern
        user = body["user"]["id"]
        locale = await self._readers.locale(user) if self._readers is not None else None  # kept for the domain too
        outcome = await self._queue.decide(action_id(body), action["value"], match.group(1), user)
        await ack()
        if str(action.get("block_id", "")).startswith(QUEUE_BLOCK):  # from the list: redraw it as it is now
            now = self._clock.now()
            text, blocks = await review_queue(self._store, self._screens, now, outcome.done, locale)
            await respond(text=text, blocks=blocks, replace_original=True)
        if outcome.refused:
            await respond(text=outcome.refused, response_type="ephemeral", replace_original=False)
