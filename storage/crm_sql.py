"""Read queries for the CRM API, in portable SQL with `?` placeholders: mixed into the SQL stores, run where a
scan holds up no writer."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.core.models import Referral
from storage.rows import from_row, to_db
from storage.sql_base import Scans


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
            params.append(to_db(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(to_db(until))
        if after is not None:
            where.append("(created_at > ? OR (created_at = ? AND id > ?))")
            params += [to_db(after[0]), to_db(after[0]), after[1]]
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
