"""Asks waiting for their moment ([[asks.triggers]], migration 0020) and the NPS score that gates asks, in portable
SQL: mixed into SqlTransaction, and the sweep's scan into the SQL stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.models import DueAsk
from storage.rows import from_row, to_db
from storage.sql_base import Scans, SqlBase

_COLUMNS = "id, customer_id, trigger, due_at"


def _utc(moment: datetime) -> str:
    # Due times are compared as text, which orders moments only when all are written in one offset.
    return str(to_db(moment.astimezone(UTC)))


class TriggerSql(SqlBase):
    async def last_nps_score(self, customer_id: int) -> int | None:
        row = await self._one(
            "SELECT score FROM nps_answers WHERE customer_id = ? AND score IS NOT NULL"
            " ORDER BY answered_at DESC LIMIT 1",
            customer_id,
        )
        return int(row["score"]) if row else None

    async def add_due_ask(self, ask: DueAsk, at: datetime) -> bool:
        row = {"id": ask.id, "customer_id": ask.customer_id, "trigger": ask.trigger, "due_at": _utc(ask.due_at)}
        return await self._insert("ask_triggers", {**row, "created_at": to_db(at)}, "ON CONFLICT (id) DO NOTHING") == 1

    async def schedule_due_asks(
        self, id_prefix: str, trigger: str, segments: Sequence[str], due_at: datetime, at: datetime
    ) -> int:
        # Those who opted out or cannot be reached are left out here already: their rows would only be skipped.
        marks = ", ".join("?" for _ in segments)
        return await self._db.execute(
            f"INSERT INTO ask_triggers ({_COLUMNS}, created_at)"
            " SELECT CAST(? AS TEXT) || CAST(telegram_id AS TEXT), telegram_id, ?, ?, ? FROM customers"
            f" WHERE segment IN ({marks}) AND asks_opted_out = 0 AND unreachable_at IS NULL"
            " ON CONFLICT (id) DO NOTHING",
            (id_prefix, trigger, _utc(due_at), to_db(at), *segments),
        )

    async def settle_due_ask(self, ask_id: str, outcome: str, at: datetime) -> bool:
        changed = await self._db.execute(
            "UPDATE ask_triggers SET outcome = ?, settled_at = ? WHERE id = ? AND settled_at IS NULL",
            (outcome, to_db(at), ask_id),
        )
        return changed == 1

    async def due_asks(self, ids: Sequence[str]) -> Sequence[DueAsk]:
        if not ids:
            return []
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM ask_triggers WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY due_at, id",
            tuple(ids),
        )
        return [from_row(DueAsk, row) for row in rows]


class TriggerScans(Scans):
    async def waiting_asks(self, due_by: datetime | None, limit: int) -> list[DueAsk]:
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM ask_triggers WHERE settled_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            _utc(due_by) if due_by is not None else "9999",  # after every stored time: all of them
            limit,
        )
        return [from_row(DueAsk, row) for row in rows]
