"""Notifications that coalesce: the messages a customer gets about something they did not just do (a friend who
joined through their link, a reward) carry the data to merge them, and wait for their chat's window.

How a burst reaches a referrer (docs/architecture.md, "Coalesced notifications"):
- Queuing (Work.send with `merge`): each chat has a window per merge kind (storage: notification_windows). The
  window lets its first `burst` notifications go at once, as written; later ones are held (their row's
  next_attempt_at) until the window's next slot, a window after it opened, and marked "waited" in their merge data;
  everything queued before that slot joins it. So the slots of a long burst are a window apart. Thank-yous that
  join a slot fold into the row already waiting for it (the window keeps its dedupe key), so a slot is one row and
  one message however many rows the dispatcher claims at a time.
- Sending (handlers/telegram/coalescing.py): at a slot the held rows are due together; the Telegram sender, a
  BatchSender, merges the leading run of waited rows of one merge kind (two or more) into one message and returns
  every merged row as sent with its one message id. The dispatcher records them in one mark_sent, as it does a
  Slack digest's alerts. One that waited alone goes as written.
- Crash safety: a row is held in the same transaction that queues it, so a crash loses no notification; a merged
  message's rows are recorded as one commit, so a restart finds them all sent or all waiting, never some of them.
  What a crash can repeat is what it can repeat of any message: the one send between the request and its commit.
- Several instances: the window is read and moved by one upsert, which PostgreSQL serialises per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.core.models import Customer

FRIEND_JOINED = "friend_joined"  # merged into "12 more friends joined: Ben, Cleo, … and 9 others"
REWARD = "reward"  # reward notices: merged by putting their own texts one under the other (each keeps its code)
MERGE_KINDS = frozenset({FRIEND_JOINED, REWARD})
# Kinds whose waiting notifications fold into one outbox row per slot, so a slot is one message however many the
# dispatcher claims at a time. Reward notices each keep a row: their texts, codes and all, are merged when sent.
FOLDED = frozenset({FRIEND_JOINED})


@dataclass(frozen=True)
class NotificationWindow:
    """How notifications to one chat are paced: `burst` at once, then one slot per `span`. A span of zero turns
    coalescing off: every notification goes at once and on its own."""

    span: timedelta = timedelta(seconds=60)
    burst: int = 3  # NOTIFICATION_BURST: as many as a chat takes in a few seconds; the rest wait for the next slot

    @property
    def on(self) -> bool:
        return self.span > timedelta(0)


DEFAULT_WINDOW = NotificationWindow()


def merge_data(kind: str, locale: str, **data: Any) -> dict[str, Any]:
    """What a notification's row carries besides its rendered text, so that a sender can merge it with others of
    its kind: `{"kind": ..., "locale": ..., **data}`."""
    assert kind in MERGE_KINDS, kind
    return {"kind": kind, "locale": locale, **data}


def friend_joined(referrer: Customer, friend_name: str, held: bool, reward: str) -> dict[str, Any]:
    """A thank-you's merge data: what a merged one names and says (messages/<locale>/friends_joined_many.html)."""
    data = {"name": friend_name, "held": held, "first_name": referrer.first_name, "reward": reward}
    return merge_data(FRIEND_JOINED, referrer.language, **data)


def reward_notice(customer: Customer) -> dict[str, Any]:
    """A reward notice's merge data: merged ones keep their own texts, so only the kind is needed."""
    return merge_data(REWARD, customer.language)
