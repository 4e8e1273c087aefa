"""People outside Telegram (migration 0022): e-mail addresses and their unsubscribe tokens, imported advocates'
personal links, and moving an imported advocate's record to the Telegram account they bind. Mixed into the SQL
transaction."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from storage.rows import to_db
from storage.sql_base import SqlBase

# Every column that holds a customer's id, besides the customers table's own key: moving a record moves these.
_CUSTOMER_COLUMNS = (
    ("referrals", "referrer_id"),
    ("customers", "referred_by"),
    ("share_events", "customer_id"),
    ("asks", "customer_id"),
    ("nps_answers", "customer_id"),
    ("feedback_answers", "customer_id"),
    ("ask_triggers", "customer_id"),
    ("advocate_invites", "customer_id"),
)


class ContactSql(SqlBase):
    async def email_token(self, address: str, at: datetime) -> tuple[str, datetime | None]:
        """The address's unsubscribe token, made on first use, and when it unsubscribed (None: it has not)."""
        await self._insert(
            "email_addresses",
            {"address": address, "token": secrets.token_urlsafe(24), "created_at": to_db(at)},
            "ON CONFLICT (address) DO NOTHING",
        )
        row = await self._one("SELECT token, unsubscribed_at FROM email_addresses WHERE address = ?", address)
        assert row is not None  # inserted just now, or before
        stopped = row["unsubscribed_at"]
        return str(row["token"]), datetime.fromisoformat(stopped) if stopped else None

    async def email_stopped(self, address: str) -> datetime | None:
        """When the address unsubscribed; None when it has not (or was never written to)."""
        row = await self._one("SELECT unsubscribed_at FROM email_addresses WHERE address = ?", address)
        return datetime.fromisoformat(row["unsubscribed_at"]) if row and row["unsubscribed_at"] else None

    async def unsubscribe_email(self, token: str, at: datetime) -> str | None:
        """Unsubscribe the address a token belongs to (once; again changes nothing); None for an unknown token."""
        row = await self._one(f"SELECT address FROM email_addresses WHERE token = ?{self._lock}", token)
        if row is None:
            return None
        await self._db.execute(
            "UPDATE email_addresses SET unsubscribed_at = ? WHERE token = ? AND unsubscribed_at IS NULL",
            (to_db(at), token),
        )
        return str(row["address"])

    async def forget_email(self, address: str) -> None:
        """An erased person's address goes too; a later mail to it starts afresh (and asks consent afresh)."""
        await self._db.execute("DELETE FROM email_addresses WHERE address = ?", (address,))

    async def insert_invite(self, token_hash: str, customer_id: int, at: datetime, expires_at: datetime) -> None:
        row = {"token_hash": token_hash, "customer_id": customer_id, "created_at": to_db(at)}
        await self._insert("advocate_invites", {**row, "expires_at": to_db(expires_at)})

    async def invite(self, token_hash: str) -> dict[str, Any] | None:
        """An advocate's personal link by its token's hash: customer_id, expires_at, used_at and used_by."""
        row = await self._one(f"SELECT * FROM advocate_invites WHERE token_hash = ?{self._lock}", token_hash)
        if row is None:
            return None
        for key in ("expires_at", "used_at"):
            row[key] = datetime.fromisoformat(row[key]) if row[key] else None
        return row

    async def use_invite(self, token_hash: str, telegram_id: int, at: datetime) -> bool:
        """Spend a personal link; False when it was spent already (two taps at once: one wins)."""
        changed = await self._db.execute(
            "UPDATE advocate_invites SET used_at = ?, used_by = ? WHERE token_hash = ? AND used_at IS NULL",
            (to_db(at), telegram_id, token_hash),
        )
        return changed == 1

    async def move_customer(self, old_id: int, new_id: int) -> None:
        """Everything recorded under `old_id` now belongs to `new_id`, which must exist; `old_id`'s row is deleted.
        A tier bonus `new_id` already has is kept, and `old_id`'s copy of it dropped (a tier is earned once)."""
        await self._db.execute(
            "UPDATE rewards SET customer_id = ? WHERE customer_id = ? AND (tier IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM rewards mine WHERE mine.customer_id = ? AND mine.tier = rewards.tier))",
            (new_id, old_id, new_id),
        )
        await self._db.execute("DELETE FROM rewards WHERE customer_id = ?", (old_id,))
        for table, column in _CUSTOMER_COLUMNS:
            await self._db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new_id, old_id))
        await self._move_tallies(old_id, new_id)
        await self._db.execute(
            "UPDATE outbox_subjects SET subject = ? WHERE subject = ?", (f"tg:{new_id}", f"tg:{old_id}")
        )
        await self._db.execute("DELETE FROM customers WHERE telegram_id = ?", (old_id,))

    async def _move_tallies(self, old_id: int, new_id: int) -> None:
        await self._insert(
            "advocate_tallies", {"referrer_id": new_id, "referrals": 0, "converted": 0}, "ON CONFLICT DO NOTHING"
        )
        await self._db.execute(
            "UPDATE advocate_tallies SET referrals = referrals + COALESCE((SELECT referrals FROM advocate_tallies old"
            " WHERE old.referrer_id = ?), 0), converted = converted + COALESCE((SELECT converted FROM"
            " advocate_tallies old WHERE old.referrer_id = ?), 0) WHERE referrer_id = ?",
            (old_id, old_id, new_id),
        )
        await self._db.execute("DELETE FROM advocate_tallies WHERE referrer_id = ?", (old_id,))
