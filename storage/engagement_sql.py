"""Asks, NPS and program-feedback answers in portable SQL: mixed into SqlTransaction (and the sweep's reads into
the SQL stores)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.ids import new_id
from bot.core.models import Customer, NpsQuestion
from storage.rows import from_row, to_db
from storage.source_sql import SourceTallySql
from storage.sql_base import Scans


class EngagementSql(SourceTallySql):  # an ask sent is counted for the stats by source
    async def insert_ask(
        self,
        ask_id: str,
        customer_id: int,
        kind: str,
        reason: str,
        variant: str | None,
        at: datetime,
        follows: str | None = None,
    ) -> bool:
        row = {"id": ask_id, "customer_id": customer_id, "kind": kind, "reason": reason, "variant": variant}
        row = {**row, "follows": follows, "created_at": to_db(at)}
        inserted = await self._insert("asks", row, "ON CONFLICT (id) DO NOTHING") == 1
        if inserted:
            await self._count_ask(kind, reason, at)
        return inserted

    async def ask_times(self, customer_id: int, since: datetime) -> Sequence[datetime]:
        rows = await self._db.fetch_all(
            "SELECT created_at FROM asks WHERE customer_id = ? AND kind = 'ask' AND created_at >= ? "
            "ORDER BY created_at",
            (customer_id, to_db(since)),
        )
        return [datetime.fromisoformat(row["created_at"]) for row in rows]

    async def customers_in_segments(self, segments: Sequence[str]) -> Sequence[Customer]:
        marks = ", ".join("?" for _ in segments)
        rows = await self._db.fetch_all(
            f"SELECT * FROM customers WHERE segment IN ({marks}) ORDER BY telegram_id", tuple(segments)
        )
        return [from_row(Customer, row) for row in rows]

    async def follow_ups_due(self, asked_before: datetime, limit: int) -> Sequence[tuple[str, int, datetime]]:
        rows = await self._db.fetch_all(
            "SELECT id, customer_id, created_at FROM asks WHERE kind = 'ask' AND closed_at IS NULL "
            "AND created_at <= ? ORDER BY created_at LIMIT ?",
            (to_db(asked_before), limit),
        )
        return [(str(r["id"]), int(r["customer_id"]), datetime.fromisoformat(r["created_at"])) for r in rows]

    async def close_ask(self, ask_id: str, at: datetime) -> None:
        await self._db.execute("UPDATE asks SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (to_db(at), ask_id))

    async def shared_since(self, customer_id: int, since: datetime) -> bool:
        row = await self._one(
            "SELECT (SELECT COUNT(*) FROM share_events WHERE customer_id = ? AND created_at >= ?)"
            " + (SELECT COUNT(*) FROM referrals WHERE referrer_id = ? AND created_at >= ?) AS n",
            customer_id,
            to_db(since),
            customer_id,
            to_db(since),
        )
        return bool(row and row["n"])

    async def add_nps_question(
        self, question_id: str, customer_id: int, trigger: str, dedupe_key: str | None, variant: str, at: datetime
    ) -> bool:
        row = {"id": question_id, "customer_id": customer_id, "trigger": trigger, "dedupe_key": dedupe_key}
        row |= {"variant": variant, "created_at": to_db(at)}
        return await self._insert("nps_answers", row, "ON CONFLICT (dedupe_key) DO NOTHING") == 1

    async def nps_question(self, question_id: str) -> NpsQuestion | None:
        row = await self._one(f"SELECT * FROM nps_answers WHERE id = ?{self._lock}", question_id)
        return from_row(NpsQuestion, row) if row else None

    async def answer_nps(self, question_id: str, customer_id: int, score: int, at: datetime) -> bool:
        changed = await self._db.execute(
            "UPDATE nps_answers SET score = ?, answered_at = ? WHERE id = ? AND customer_id = ? AND score IS NULL",
            (score, to_db(at), question_id, customer_id),
        )
        return changed == 1

    async def update_nps(self, question_id: str, **changes: Any) -> None:
        unknown = set(changes) - {"comment", "commented_at", "alerted_at"}
        if unknown:
            raise ValueError(f"unknown columns: {sorted(unknown)}")
        await self._update("nps_answers", "id", question_id, {name: to_db(v) for name, v in changes.items()})

    async def last_nps_asked(self, customer_id: int) -> datetime | None:
        row = await self._one("SELECT MAX(created_at) AS at FROM nps_answers WHERE customer_id = ?", customer_id)
        return datetime.fromisoformat(row["at"]) if row and row["at"] else None

    async def add_feedback_answer(self, customer_id: int, question: str, answer: str, at: datetime) -> None:
        row = {"id": new_id(), "customer_id": customer_id, "question": question, "answer": answer}
        await self._insert("feedback_answers", {**row, "created_at": to_db(at)})


class EngagementScans(Scans):
    """The feedback sweep's reads: whom to ask for NPS now, and detractors whose alert is late."""

    async def due_for_nps(
        self, joined_before: datetime, segments: Sequence[str], asked_after: datetime, limit: int
    ) -> list[int]:
        rows = await self._rows(
            "SELECT c.telegram_id FROM customers c WHERE c.created_at <= ? AND c.asks_opted_out = 0"
            f" AND c.unreachable_at IS NULL AND c.segment IN ({', '.join('?' for _ in segments)})"
            " AND NOT EXISTS (SELECT 1 FROM nps_answers n WHERE n.customer_id = c.telegram_id"
            " AND (n.dedupe_key = 'nps:days:' || c.telegram_id OR n.created_at > ?))"
            " ORDER BY c.created_at LIMIT ?",
            to_db(joined_before),
            *segments,
            to_db(asked_after),
            limit,
        )
        return [int(row["telegram_id"]) for row in rows]

    async def unalerted_detractors(self, answered_before: datetime, limit: int) -> list[NpsQuestion]:
        rows = await self._rows(
            "SELECT * FROM nps_answers WHERE score <= 6 AND alerted_at IS NULL AND answered_at <= ? LIMIT ?",
            to_db(answered_before),
            limit,
        )
        return [from_row(NpsQuestion, row) for row in rows]
