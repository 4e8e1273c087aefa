"""The Transaction interface in portable SQL with `?` placeholders, shared by the SQL backends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.ids import new_id
from bot.core.lanes import lane_for
from bot.core.models import Customer, Draft, Referral, Reward, Timer
from storage.contact_sql import ContactSql
from storage.crm_sql import CrmWrites
from storage.engagement_sql import EngagementSql
from storage.privacy_sql import PrivacySql
from storage.routing_sql import RoutingSql
from storage.rows import checked_columns, from_row, to_db, to_row
from storage.sql_base import Executor, SqlBase
from storage.tally_sql import TallySql
from storage.team_sql import TeamSql
from storage.trigger_sql import TriggerSql
from storage.windows_sql import WindowSql

__all__ = ["Executor", "SqlBase", "SqlTransaction"]


class SqlTransaction(
    EngagementSql, TriggerSql, PrivacySql, TallySql, CrmWrites, ContactSql, TeamSql, RoutingSql, WindowSql
):
    async def claim_inbound(self, inbound_id: str, at: datetime) -> bool:
        row = {"id": inbound_id, "processed_at": to_db(at)}
        return await self._insert("processed_inbound", row, "ON CONFLICT (id) DO NOTHING") == 1

    async def customer(self, telegram_id: int) -> Customer | None:
        row = await self._one(f"SELECT * FROM customers WHERE telegram_id = ?{self._lock}", telegram_id)
        return from_row(Customer, row) if row else None

    async def customer_by_code(self, code: str) -> Customer | None:
        row = await self._one(f"SELECT * FROM customers WHERE referral_code = ?{self._lock}", code)
        return from_row(Customer, row) if row else None

    async def customer_by_contact(self, contact: str) -> Customer | None:
        if contact.startswith("@"):
            row = await self._one("SELECT * FROM customers WHERE lower(username) = ?", contact[1:].lower())
        elif "@" in contact:  # an e-mail address, as an imported advocate's (stored in lower case)
            row = await self._one("SELECT * FROM customers WHERE email = ?", contact.lower())
        else:
            digits = contact.lstrip("+")
            row = await self._one("SELECT * FROM customers WHERE phone IN (?, ?)", digits, f"+{digits}")
        return from_row(Customer, row) if row else None

    async def insert_customer(self, customer: Customer) -> None:
        await self._insert("customers", to_row(customer))

    async def update_customer(self, telegram_id: int, **changes: Any) -> None:
        await self._update("customers", "telegram_id", telegram_id, checked_columns(Customer, changes))

    async def referral(self, referral_id: str) -> Referral | None:
        row = await self._one(f"SELECT * FROM referrals WHERE id = ?{self._lock}", referral_id)
        return from_row(Referral, row) if row else None

    async def referral_for_friend(self, friend_telegram_id: int) -> Referral | None:
        row = await self._one(f"SELECT * FROM referrals WHERE friend_telegram_id = ?{self._lock}", friend_telegram_id)
        return from_row(Referral, row) if row else None

    async def referral_by_contact(self, contact: str) -> Referral | None:
        row = await self._one(f"SELECT * FROM referrals WHERE friend_contact = ?{self._lock}", contact)
        if row is None and contact.startswith("+"):  # a landing-page friend's number, beside their address
            row = await self._one(f"SELECT * FROM referrals WHERE friend_phone = ?{self._lock}", contact)
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

    async def count_held(self, referrer_id: int) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ? AND status = 'held'", referrer_id
        )
        return int(row["n"]) if row else 0

    async def insert_referral(self, referral: Referral) -> None:
        durations = await self._count_arrival(referral)
        await self._count_source_arrival(referral)
        await self._insert("referrals", {**to_row(referral), **durations})

    async def update_referral(self, referral_id: str, **changes: Any) -> None:
        values = checked_columns(Referral, changes)
        durations = await self._count_steps(referral_id, changes)
        await self._count_source_change(referral_id, changes)
        await self._update("referrals", "id", referral_id, {**values, **durations})

    async def insert_reward(self, reward: Reward) -> None:
        await self._insert("rewards", to_row(reward))
        await self._count_new_reward(reward)

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
        row = await self._one(f"SELECT * FROM rewards WHERE id = ?{self._lock}", reward_id)
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
        await self._count_reward_change(reward_id, changes)
        await self._update("rewards", "id", reward_id, checked_columns(Reward, changes))

    async def add_coupon(self, pool: str, code: str, at: datetime) -> bool:
        row = {"pool": pool, "code": code, "status": "available", "imported_at": to_db(at)}
        return await self._insert("coupon_codes", row, "ON CONFLICT (pool, code) DO NOTHING") == 1

    async def take_coupon(self, pool: str, reward_id: str, at: datetime) -> str | None:
        # The status check in the UPDATE itself makes taking a code atomic: a concurrent writer that took the
        # same candidate first leaves zero rows changed here, and we try the next code. Where rows are locked
        # (PostgreSQL), a code another transaction is taking is skipped rather than waited for.
        for _ in range(5):
            candidate = await self._one(
                "SELECT code FROM coupon_codes WHERE pool = ? AND status = 'available'"
                f" ORDER BY imported_at, code LIMIT 1{self._lock and self._lock + ' SKIP LOCKED'}",
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
        await self._count_share(customer_id, at)

    async def draft(self, telegram_id: int) -> Draft | None:
        row = await self._one(f"SELECT * FROM drafts WHERE telegram_id = ?{self._lock}", telegram_id)
        return from_row(Draft, row) if row else None

    async def save_draft(self, draft: Draft) -> None:
        await self.delete_draft(draft.telegram_id)
        await self._insert("drafts", to_row(draft))

    async def delete_draft(self, telegram_id: int) -> None:
        await self._db.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))

    async def add_timer(self, referral_id: str, kind: str, due_at: datetime, at: datetime) -> None:
        timer = Timer(new_id(), referral_id, kind, due_at, "pending", at)
        await self._insert("sla_timers", to_row(timer), "ON CONFLICT (referral_id, kind) DO NOTHING")

    async def cancel_timers(self, referral_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE sla_timers SET status = 'cancelled', fired_at = ? WHERE referral_id = ? AND status = 'pending'",
            (to_db(at), referral_id),
        )

    async def finish_timer(self, timer_id: str, status: str, at: datetime) -> None:
        if status == "fired":
            await self._count_breach(timer_id)
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
        self,
        platform: str,
        chat_id: str,
        payload: dict[str, Any],
        dedupe_key: str,
        at: datetime,
        about: Sequence[str] = (),
        lane: int | None = None,
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
            "lane": int(lane or lane_for(platform, chat_id)),
        }
        if await self._insert("outbox", row, "ON CONFLICT (dedupe_key) DO NOTHING") != 1:
            return False
        for subject in dict.fromkeys(about):
            await self._insert("outbox_subjects", {"subject": subject, "outbox_id": row["id"]})
        return True
