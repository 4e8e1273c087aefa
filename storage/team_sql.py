"""The sales team's own rows (migration 0023): each person's language and away flag. Mixed into the SQL transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.members import TeamMember
from storage.rows import from_row, to_db
from storage.sql_base import SqlBase


class TeamSql(SqlBase):
    async def team_member(self, user_id: str) -> TeamMember | None:
        row = await self._one("SELECT * FROM team_members WHERE user_id = ?", user_id)
        return from_row(TeamMember, row) if row else None

    async def team_members(self, user_ids: Sequence[str]) -> dict[str, TeamMember]:
        if not user_ids:
            return {}
        marks = ", ".join("?" for _ in user_ids)
        rows = await self._db.fetch_all(f"SELECT * FROM team_members WHERE user_id IN ({marks})", tuple(user_ids))
        return {str(row["user_id"]): from_row(TeamMember, row) for row in rows}

    async def set_member_locale(self, user_id: str, locale: str | None, at: datetime) -> None:
        await self._upsert(user_id, at, "locale = ?, locale_checked_at = ?", (locale, to_db(at)))

    async def set_member_away(self, user_id: str, away: bool, at: datetime) -> bool:
        """Mark a rep away (or back); False when they already were."""
        member = await self.team_member(user_id)
        if (member is not None and member.away) == away:
            return False
        await self._upsert(user_id, at, "away_since = ?", (to_db(at) if away else None,))
        return True

    async def _upsert(self, user_id: str, at: datetime, assignments: str, values: tuple[object, ...]) -> None:
        # The row is made on first sight; two instances seeing someone at once both land on the one row.
        await self._insert("team_members", {"user_id": user_id, "updated_at": to_db(at)}, "ON CONFLICT DO NOTHING")
        await self._db.execute(
            f"UPDATE team_members SET {assignments}, updated_at = ? WHERE user_id = ?", (*values, to_db(at), user_id)
        )
