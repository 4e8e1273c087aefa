"""Notification windows (migration 0026): one row per chat and merge kind, updated by a single upsert, so the
read and the write of a window are one step even with several instances on PostgreSQL (the upsert locks the row
until the commit, and a second transaction's upsert re-reads it once the first commits). Mixed into the SQL
transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.rows import to_db
from storage.sql_base import SqlBase

# The window, in the order of its cases: a slot ahead is joined; a window that ran out opens anew at `now`; a window
# with room lets one more through at once; a full one moves on to its next slot (one window on), which later ones
# then join. Parameters per CASE: now, window, now, burst, then the full case's own.
_CASES = """CASE
    WHEN notification_windows.opened_ms > CAST(? AS BIGINT) THEN {joined}
    WHEN notification_windows.opened_ms + CAST(? AS BIGINT) <= CAST(? AS BIGINT) THEN {fresh}
    WHEN notification_windows.sent < CAST(? AS INTEGER) THEN {room}
    ELSE {full} END"""
_OPENED = _CASES.format(
    joined="notification_windows.opened_ms",
    fresh="excluded.opened_ms",
    room="notification_windows.opened_ms",
    full="notification_windows.opened_ms + CAST(? AS BIGINT)",
)
_SENT = _CASES.format(
    joined="notification_windows.sent", fresh="1", room="notification_windows.sent + 1", full="CAST(? AS INTEGER)"
)
# Only a slot that is joined keeps its waiting row; any other case has none yet (the first held row becomes it).
_WAITING = _CASES.format(joined="notification_windows.waiting_key", fresh="NULL", room="NULL", full="CAST(? AS TEXT)")
_SLOT = (
    "INSERT INTO notification_windows (platform, chat_id, kind, opened_ms, sent) VALUES (?, ?, ?, ?, 1)"
    f" ON CONFLICT (platform, chat_id, kind) DO UPDATE SET opened_ms = {_OPENED}, sent = {_SENT},"
    f" waiting_key = {_WAITING} RETURNING opened_ms, waiting_key"
)


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


class WindowSql(SqlBase):
    async def notification_slot(
        self, platform: str, chat_id: str, kind: str, now: datetime, window: timedelta, burst: int
    ) -> tuple[datetime, str | None]:
        at, span = _ms(now), round(window.total_seconds() * 1000)
        cases = (at, span, at, burst)
        # SET evaluates every column from the row as it was, so each CASE sees the same old window.
        params = (platform, chat_id, kind, at, *cases, span, *cases, burst, *cases, None)
        row = await self._one(_SLOT, *params)
        assert row is not None  # an upsert with RETURNING always returns its row
        opened = int(row["opened_ms"])
        if opened <= at:
            return now, None
        # In `now`'s own zone: the outbox compares its times as text, which is only sound within one zone.
        return datetime.fromtimestamp(opened / 1000, now.tzinfo or UTC), row["waiting_key"]

    async def fold_notification(self, waiting_key: str, merge: dict[str, Any], about: Sequence[str]) -> bool:
        row = await self._one(
            f"SELECT id, payload FROM outbox WHERE dedupe_key = ? AND status = 'pending'{self._lock}", waiting_key
        )
        if row is None:
            return False
        payload = json.loads(row["payload"])
        folded = payload["merge"]
        folded["more"] = [*folded.get("more", []), merge]
        changed = await self._db.execute(
            "UPDATE outbox SET payload = ? WHERE id = ? AND status = 'pending'", (to_db(payload), row["id"])
        )
        if changed != 1:  # claimed since it was read: the notification goes on its own instead
            return False
        for subject in dict.fromkeys(about):  # forgetting any friend it names drops it, as for a row of its own
            await self._insert(
                "outbox_subjects", {"subject": subject, "outbox_id": row["id"]}, "ON CONFLICT DO NOTHING"
            )
        return True

    async def hold_notification(self, platform: str, chat_id: str, kind: str, dedupe_key: str, until: datetime) -> None:
        await self._db.execute(
            # held: it does not hold up the chat's later rows, as a retry would (migration 0027)
            "UPDATE outbox SET next_attempt_at = ?, held = 1 WHERE dedupe_key = ? AND status = 'pending'",
            (to_db(until), dedupe_key),
        )
        await self._db.execute(
            "UPDATE notification_windows SET waiting_key = ? WHERE platform = ? AND chat_id = ? AND kind = ?",
            (dedupe_key, platform, chat_id, kind),
        )
