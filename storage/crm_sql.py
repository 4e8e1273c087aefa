"""Queries for the CRM API, in portable SQL with `?` placeholders: reads mixed into the SQL stores and run where a
scan holds up no writer, and the record of Idempotency-Keys, part of a write transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.core.models import Referral
from storage.rows import from_row, to_db
from storage.sql_base import Scans, SqlBase


class CrmWrites(SqlBase):
    """The CRM API's part of a write transaction."""

    async def claim_request_key(self, inbound_id: str, fingerprint: str, at: datetime) -> str:
        # Insert-or-keep, then read: of two requests racing with one key, the first to commit is the key's first use.
        row = {"id": inbound_id, "fingerprint": fingerprint, "first_used_at": to_db(at)}
        await self._insert("request_keys", row, "ON CONFLICT (id) DO NOTHING")
        first = await self._one("SELECT fingerprint FROM request_keys WHERE id = ?", inbound_id)
        return str(first["fingerprint"]) if first else fingerprint


class CrmSql(Scans):
    async def referrals_page(
        self,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Referral]:
        where, params = ["1 = 1"], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if since is not None:
            where.append("created_at >= ?")
            params.append(_utc_text(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(_utc_text(until))
        if after is not None:
            where.append("(created_at > ? OR (created_at = ? AND id > ?))")
            params += [_utc_text(after[0]), _utc_text(after[0]), after[1]]
        sql = f"SELECT * FROM referrals WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT ?"
        rows = await self._rows(sql, *params, limit)
        return [from_row(Referral, row) for row in rows]

    async def referral_trail(self, referral_id: str) -> list[dict[str, Any]]:
        # Events of one change share a timestamp; the subject index returns those in the order they were written.
        rows = await self._rows(
            "SELECT kind, actor, data, created_at FROM events WHERE subject = ? ORDER BY created_at", referral_id
        )
        return [{**row, "data": json.loads(row["data"])} for row in rows]

    async def reward_trail(self, referral_id: str) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT id, role, kind, description, status, code, issued_at FROM rewards WHERE referral_id = ? "
            "ORDER BY created_at, id",
            referral_id,
        )


def _utc_text(moment: datetime) -> str:
    """A bound for `created_at`, stored as UTC text of one fixed width, whose text order is then time order; the
    same moment written with another offset would compare as other text (10:00+02:00 sorts after 09:30+00:00)."""
    text: str = to_db(moment.astimezone(UTC))
    return text
