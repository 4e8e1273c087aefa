"""Priority lanes of the outbox: which queued message goes first when a platform's overall rate is the limit.

1. REPLY: a Telegram message to the person whose own action this unit of work handles (a welcome, the answer to a
   button or a command). They are looking at the chat, waiting.
2. TEAM: the sales team's side (every Slack row): alerts, rep actions, nudges.
3. NOTICE: a Telegram message to someone other than the actor (a thank-you, a reward notice), or any row of a unit
   of work no person started in Telegram.
4. BULK: what a sweep or an operator command queues for many people at once (ask campaigns, follow-ups, surveys,
   triggered asks, imports).

The rule is applied where every outbox row is written (`Work.post`), so callers rarely name a lane: the Telegram
adapter says whose update is being handled (`acting_for`), and the sweeps open their units of work as bulk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum


class Lane(IntEnum):
    REPLY = 1
    TEAM = 2
    NOTICE = 3
    BULK = 4


LANES = tuple(Lane)
# Rows queued before lanes existed (migration 0025) take this one: neither ahead of a new welcome nor behind bulk.
DEFAULT_LANE = Lane.NOTICE
# The team's platforms: the Slack channel and DMs ("slack"), and the Home tab publishes ("slack_home").
TEAM_PLATFORMS = frozenset({"slack", "slack_home"})

# Whose Telegram update the current task is handling. Set by the Telegram adapter around one update, read when its
# unit of work begins. A context variable rather than a parameter of every service method: only the adapter knows
# that an update came from a person in their chat, and each update runs in its own task, so two people's updates
# handled side by side never see each other's.
_ACTOR: ContextVar[int | None] = ContextVar("outbox_actor", default=None)


@contextmanager
def acting_for(chat_id: int | None) -> Iterator[None]:
    """Mark the code inside as handling an update from the person in this private chat."""
    token = _ACTOR.set(chat_id)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> int | None:
    return _ACTOR.get()


def lane_for(platform: str, chat_id: str, actor: int | None = None, bulk: bool = False) -> Lane:
    """The lane of a row, by who it is for and why it is sent."""
    if platform in TEAM_PLATFORMS:
        return Lane.TEAM
    if bulk:
        return Lane.BULK
    if platform == "telegram" and actor is not None and chat_id == str(actor):
        return Lane.REPLY
    return Lane.NOTICE
