"""Coalescing's part of the Transaction interface (storage/windows_sql.py, migration 0026)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol


class WindowTransaction(Protocol):
    async def notification_slot(
        self, platform: str, chat_id: str, kind: str, now: datetime, window: timedelta, burst: int
    ) -> tuple[datetime, str | None]:
        """When a notification of `kind` queued now for the chat may go: `now` while the chat's window has room
        (its first `burst` in a window), else the window's next slot, which later ones join; and the dedupe key of
        the row already waiting for that slot, if any. Atomic, and the window stays locked until the commit, so two
        instances queuing for one chat at once take turns."""

    async def fold_notification(self, waiting_key: str, merge: dict[str, Any], about: Sequence[str]) -> bool:
        """Add a notification's merge data to the row waiting under `waiting_key` (to its merge data's "more");
        False when that row is no longer waiting (it is being sent, or was erased)."""

    async def hold_notification(self, platform: str, chat_id: str, kind: str, dedupe_key: str, until: datetime) -> None:
        """The pending row queued under `dedupe_key` waits until `until` (its slot), as the one later ones fold into.
        It is marked held, so the chat's other rows do not wait for it (storage/outbox_sql.py)."""
