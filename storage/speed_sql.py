"""Speed-to-lead reads in portable SQL: when referrals reached the team (their claim timers' start), and a week's
arrivals with their first contact. Mixed into the SQL stores, and run where a scan holds up no writer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.first_contact import FirstContactLine
from storage.rows import from_row, to_db
from storage.sql_base import Scans

# The claim timers start when the team gets the referral: one claim_nudge row per referral (unique with its kind).
_FIRST_CONTACTS = (
    "SELECT r.id, r.status, r.assignee, r.created_at, t.created_at AS team_since, r.claimed_at, r.contacted_at,"
    " r.friend_name, f.first_name AS friend_first_name, c.first_name AS referrer_name"
    " FROM referrals r JOIN customers c ON c.telegram_id = r.referrer_id"
    " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
    " LEFT JOIN sla_timers t ON t.referral_id = r.id AND t.kind = 'claim_nudge'"
    " WHERE r.created_at >= ? AND r.created_at < ? AND r.status NOT IN ('held', 'rejected')"
    " ORDER BY r.created_at, r.id"
)


class SpeedScans(Scans):
    async def team_since(self, referral_ids: Sequence[str]) -> dict[str, datetime]:
        if not referral_ids:
            return {}
        marks = ", ".join("?" for _ in referral_ids)
        rows = await self._rows(
            f"SELECT referral_id, created_at FROM sla_timers WHERE kind = 'claim_nudge' AND referral_id IN ({marks})",
            *referral_ids,
        )
        return {str(row["referral_id"]): datetime.fromisoformat(row["created_at"]) for row in rows}

    async def first_contact_lines(self, since: datetime, until: datetime) -> list[FirstContactLine]:
        rows = await self._rows(_FIRST_CONTACTS, to_db(since), to_db(until))
        return [from_row(FirstContactLine, row) for row in rows]
