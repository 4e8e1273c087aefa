"""The Transaction interface in portable SQL with `?` placeholders, shared by the SQL backends."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.models import Customer, Draft, Referral, Reward, Timer
from storage.privacy_sql import PrivacySql
from storage.rows import checked_columns, from_row, to_db, to_row


class Executor(Protocol):
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


def new_id() -> str:
    return secrets.token_hex(8)


class SqlTransaction(PrivacySql):
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def _one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self._db.fetch_all(sql, params)
        return rows[0] if rows else None

    async def _insert(self, table: str, row: dict[str, Any], conflict: str = "") -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return await self._db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) {conflict}", tuple(row.values())
        )

    async def _update(self, table: str, where: str, key: Any, changes: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in changes)
        await self._db.execute(f"UPDATE {table} SET {assignments} WHERE {where} = ?", (*changes.values(), key))

    async def claim_inbound(self, inbound_id: str, at: datetime) -> bool:
        row = {"id": inbound_id, "processed_at": to_db(at)}
        return await self._insert("processed_inbound", row, "ON CONFLICT (id) DO NOTHING") == 1

    async def customer(self, telegram_id: int) -> Customer | None:
        row = await self._one("SELECT * FROM customers WHERE telegram_id = ?", telegram_id)
        return from_row(Customer, row) if row else None

    async def customer_by_code(self, code: str) -> Customer | None:
        row = await self._one("SELECT * FROM customers WHERE referral_code = ?", code)
        return from_row(Customer, row) if row else None

    async def insert_customer(self, customer: Customer) -> None:
        await self._insert("customers", to_row(customer))

    async def update_customer(self, telegram_id: int, **changes: Any) -> None:
        await self._update("customers", "telegram_id", telegram_id, checked_columns(Customer, changes))

    async def referral(self, referral_id: str) -> Referral | None:
        row = await self._one("SELECT * FROM referrals WHERE id = ?", referral_id)
        return from_row(Referral, row) if row else None

    async def referral_for_friend(self, friend_telegram_id: int) -> Referral | None:
        row = await self._one("SELECT * FROM referrals WHERE friend_telegram_id = ?", friend_telegram_id)
        return from_row(Referral, row) if row else None

    async def referral_by_contact(self, contact: str) -> Referral | None:
        row = await self._one("SELECT * FROM referrals WHERE friend_contact = ?", contact)
        return from_row(Referral, row) if row else None

    async def referrals_by(self, referrer_id: int) -> Sequence[Referral]:
        rows = await self._db.fetch_all(
            "SELECT * FROM referrals WHERE referrer_id = ? ORDER BY created_at", (referrer_id,)
        )
        return [from_row(Referral, row) for row in rows]

    async def count_referrals_since(self, referrer_id: int, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ? AND created_at >= ?",
            referrer_id,
            to_db(since),
        )
        return int(row["n"]) if row else 0

    async def insert_referral(self, referral: Referral) -> None:
        await self._insert("referrals", to_row(referral))

    async def update_referral(self, referral_id: str, **changes: Any) -> None:
        await self._update("referrals", "id", referral_id, checked_columns(Referral, changes))

    async def insert_reward(self, reward: Reward) -> None:
        await self._insert("rewards", to_row(reward))

    async def rewards_for(self, customer_id: int) -> Sequence[Reward]:
        rows = await self._db.fetch_all(
            "SELECT * FROM rewards WHERE customer_id = ? ORDER BY created_at", (customer_id,)
        )
        return [from_row(Reward, row) for row in rows]

    async def update_rewards_of(self, referral_id: str, role: str, **changes: Any) -> None:
        values = checked_columns(Reward, changes)
        assignments = ", ".join(f"{name} = ?" for name in values)
        await self._db.execute(
            f"UPDATE rewards SET {assignments} WHERE referral_id = ? AND role = ?",
            (*values.values(), referral_id, role),
        )

    async def reward(self, reward_id: str) -> Reward | None:
        row = await self._one("SELECT * FROM rewards WHERE id = ?", reward_id)
        return from_row(Reward, row) if row else None

    async def rewards_of(self, referral_id: str) -> Sequence[Reward]:
        rows = await self._db.fetch_all(
            "SELECT * FROM rewards WHERE referral_id = ? ORDER BY created_at, role", (referral_id,)
        )
        return [from_row(Reward, row) for row in rows]

    async def owed_rewards(self, pool: str) -> Sequence[Reward]:
        rows = await self._db.fetch_all(
            "SELECT * FROM rewards WHERE pool = ? AND status = 'owed' ORDER BY created_at, id", (pool,)
        )
        return [from_row(Reward, row) for row in rows]

    async def update_reward(self, reward_id: str, **changes: Any) -> None:
        await self._update("rewards", "id", reward_id, checked_columns(Reward, changes))

    async def add_coupon(self, pool: str, code: str, at: datetime) -> bool:
        row = {"pool": pool, "code": code, "status": "available", "imported_at": to_db(at)}
        return await self._insert("coupon_codes", row, "ON CONFLICT (pool, code) DO NOTHING") == 1

    async def take_coupon(self, pool: str, reward_id: str, at: datetime) -> str | None:
        # The status check in the UPDATE itself makes taking a code atomic: a concurrent writer that took the
        # same candidate first leaves zero rows changed here, and we try the next code.
        for _ in range(5):
            candidate = await self._one(
                "SELECT code FROM coupon_codes WHERE pool = ? AND status = 'available'"
                " ORDER BY imported_at, code LIMIT 1",
                pool,
            )
            if candidate is None:
                return None
            taken = await self._db.execute(
                "UPDATE coupon_codes SET status = 'issued', reward_id = ?, issued_at = ?"
                " WHERE pool = ? AND code = ? AND status = 'available'",
                (reward_id, to_db(at), pool, candidate["code"]),
            )
            if taken == 1:
                return str(candidate["code"])
        return None

    async def coupons_left(self, pool: str) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM coupon_codes WHERE pool = ? AND status = 'available'", pool)
        return int(row["n"]) if row else 0

    async def insert_share_event(self, customer_id: int, channel: str, detail: str | None, at: datetime) -> None:
        row = {"id": new_id(), "customer_id": customer_id, "channel": channel, "detail": detail}
        await self._insert("share_events", {**row, "created_at": to_db(at)})

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
        return await self._insert("asks", row, "ON CONFLICT (id) DO NOTHING") == 1

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

    async def draft(self, telegram_id: int) -> Draft | None:
        row = await self._one("SELECT * FROM drafts WHERE telegram_id = ?", telegram_id)
        return from_row(Draft, row) if row else None

    async def save_draft(self, draft: Draft) -> None:
        await self.delete_draft(draft.telegram_id)
        await self._insert("drafts", to_row(draft))

    async def delete_draft(self, telegram_id: int) -> None:
        await self._db.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))

    async def add_nps_question(
        self, question_id: str, customer_id: int, trigger: str, dedupe_key: str | None, variant: str, at: datetime
    ) -> bool:
        row = {"id": question_id, "customer_id": customer_id, "trigger": trigger, "dedupe_key": dedupe_key}
        row |= {"variant": variant, "created_at": to_db(at)}
        return await self._insert("nps_answers", row, "ON CONFLICT (dedupe_key) DO NOTHING") == 1

    async def nps_question(self, question_id: str) -> dict[str, Any] | None:
        return await self._one("SELECT * FROM nps_answers WHERE id = ?", question_id)

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

    async def add_timer(self, referral_id: str, kind: str, due_at: datetime, at: datetime) -> None:
        timer = Timer(new_id(), referral_id, kind, due_at, "pending", at)
        await self._insert("sla_timers", to_row(timer), "ON CONFLICT (referral_id, kind) DO NOTHING")

    async def cancel_timers(self, referral_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE sla_timers SET status = 'cancelled', fired_at = ? WHERE referral_id = ? AND status = 'pending'",
            (to_db(at), referral_id),
        )

    async def finish_timer(self, timer_id: str, status: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE sla_timers SET status = ?, fired_at = ?, lease_until = NULL WHERE id = ?",
            (status, to_db(at), timer_id),
        )

    async def count_events(self, kind: str, actor: str, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM events WHERE kind = ? AND actor = ? AND created_at >= ?",
            kind,
            actor,
            to_db(since),
        )
        return int(row["n"]) if row else 0

    async def log_event(
        self, kind: str, at: datetime, actor: str | None = None, subject: str | None = None, **data: Any
    ) -> None:
        row = {"id": new_id(), "kind": kind, "actor": actor, "subject": subject, "data": to_db(data)}
        await self._insert("events", {**row, "created_at": to_db(at)})

    async def enqueue(
        self, platform: str, chat_id: str, payload: dict[str, Any], dedupe_key: str, at: datetime
    ) -> bool:
        row = {
            "id": new_id(),
            "dedupe_key": dedupe_key,
            "platform": platform,
            "chat_id": chat_id,
            "payload": to_db(payload),
            "status": "pending",
            "next_attempt_at": to_db(at),
            "created_at": to_db(at),
        }
        return await self._insert("outbox", row, "ON CONFLICT (dedupe_key) DO NOTHING") == 1
