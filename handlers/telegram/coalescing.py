"""The Telegram sender as a BatchSender: a chat's waiting notifications of one merge kind go as one message.

The rows arrive here as the dispatcher claimed them, a chat's in order. Their window (bot/core/notifications.py)
is what made them wait, and marked them so ("waited"); thank-yous that waited for one slot are folded into one row
(its merge data's "more"), so a slot is one message however many rows a claim takes. What goes as one message:
- thank-yous for friends who joined, from their names: "12 more friends just joined: Ben, Cleo, … and 7 others",
  in the referrer's language (messages/<locale>/friends_joined_many.html), every friend named or counted;
- reward notices, their own texts one under the other, as many as fit in one message, so every code is kept.
A run of waited rows of one kind is merged by `send_batch`, which returns every merged row as sent with the one
message id; the dispatcher records them all in one commit, so a crash leaves them all sent or all waiting (the
Slack digests' rule). A notification the window let through at once, one that waited alone, a row of another kind
in between, or a row with buttons or a photo: each goes as it was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Bot, Message

from bot.core.models import OutboxRow, Outgoing
from bot.core.notifications import FRIEND_JOINED, REWARD
from bot.program.texts import Texts
from handlers.telegram.sender import TelegramSender

NAMED = 5  # friends named in a merged thank-you; the rest are counted
MOST_ROWS = 1000  # rows one merged message stands for: a bounded record
TEXT_LIMIT = 4096  # Telegram's longest message
GAP = "\n\n"  # between stacked reward notices


def merge_kind(row: OutboxRow) -> str | None:
    """The row's merge kind, when it is a plain text (no buttons, no photo) that waited for its window."""
    payload = row.payload
    merge = payload.get("merge")
    if not isinstance(merge, dict) or not merge.get("waited"):
        return None
    if payload.get("buttons") or payload.get("photo_of") or payload.get("kind"):
        return None
    kind = merge.get("kind")
    return kind if kind in (FRIEND_JOINED, REWARD) else None


def entries(row: OutboxRow) -> list[dict[str, Any]]:
    """The notifications a row stands for: its own, then those folded into it."""
    merge: dict[str, Any] = row.payload["merge"]
    return [merge, *merge.get("more", [])]


def leading_run(rows: Sequence[OutboxRow]) -> list[OutboxRow]:
    """The first rows, in order, that share the first row's merge kind, as many as one message can carry."""
    kind = merge_kind(rows[0]) if rows else None
    run: list[OutboxRow] = []
    length = 0
    for row in rows:
        if kind is None or merge_kind(row) != kind or len(run) == MOST_ROWS:
            break
        if kind == REWARD:
            length += len(row.payload["text"]) + (len(GAP) if run else 0)
            if length > TEXT_LIMIT:
                break
        run.append(row)
    return run


class CoalescingSender(TelegramSender):
    def __init__(self, bot: Bot, screens: Texts) -> None:
        super().__init__(bot)
        self._screens = screens

    async def send_batch(self, rows: Sequence[OutboxRow]) -> dict[str, str]:
        """Merge the chat's leading run of waiting notifications into one message; nothing for a run of one."""
        run = leading_run(rows)
        if len(run) < 2:
            return {}
        # Sent as a row of its own, so a merged message meets the same error rules as any other.
        message = OutboxRow(
            id=run[0].id,
            platform=run[0].platform,
            chat_id=run[0].chat_id,
            payload={"text": self.merged_text(run), "buttons": [], "keyboard": "inline", "photo_of": None},
            attempts=run[0].attempts,
            created_at=run[0].created_at,
        )
        message_id = await self.send(message)
        return dict.fromkeys((row.id for row in run), str(message_id))

    async def _send_row(self, row: OutboxRow) -> Message:
        """A row that thank-yous were folded into goes merged; any other as written."""
        if merge_kind(row) == FRIEND_JOINED and len(entries(row)) > 1:
            return await self._send(Outgoing(int(row.chat_id), self.merged_text([row])))
        return await super()._send_row(row)

    def merged_text(self, run: Sequence[OutboxRow]) -> str:
        if merge_kind(run[0]) == REWARD:
            return GAP.join(row.payload["text"] for row in run)
        return self._friends_joined(run)

    def _friends_joined(self, run: Sequence[OutboxRow]) -> str:
        merged = [entry for row in run for entry in entries(row)]
        latest = merged[-1]  # the referrer's language and reward as they are now
        names = [str(data["name"]) for data in merged]
        named = names if len(names) <= NAMED + 1 else names[:NAMED]  # never "and 1 others": name that one too
        message = self._screens.text(
            None,
            int(run[0].chat_id),
            str(latest["locale"]),
            "friends_joined_many",
            first_name=latest["first_name"],
            count=len(names),
            names=named,
            others=len(names) - len(named),
            held=sum(1 for data in merged if data.get("held")),
            referrer_reward=latest["reward"],
        )
        return message.text
