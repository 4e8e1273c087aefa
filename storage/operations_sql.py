"""What operators and the metrics endpoint read in portable SQL: counts by status, the outbox backlog, whether the
database answers, and the demo's closing summary. Mixed into the SQL stores."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.figures import OutboxCount, ReferralSummary, RewardSummary
from storage.sql_base import Scans


class OperationsSql(Scans):
    async def ping(self) -> None:
        await self._rows("SELECT 1 AS ok")

    async def referrals_by_status(self) -> dict[str, int]:
        rows = await self._rows("SELECT status, COUNT(*) AS n FROM referrals GROUP BY status")
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def outbox_counts(self, statuses: Sequence[str] | None = None) -> list[OutboxCount]:
        if statuses is None:
            rows = await self._rows("SELECT platform, status, COUNT(*) AS n FROM outbox GROUP BY platform, status")
        else:
            marks = ", ".join("?" for _ in statuses)
            rows = await self._rows(
                f"SELECT platform, status, COUNT(*) AS n FROM outbox WHERE status IN ({marks})"
                " GROUP BY platform, status",
                *statuses,
            )
        return [OutboxCount(str(row["platform"]), str(row["status"]), int(row["n"])) for row in rows]

    async def dead_letters(self) -> int:
        rows = await self._rows("SELECT COUNT(*) AS n FROM outbox WHERE status = 'dead'")
        return int(rows[0]["n"])

    async def referral_summaries(self) -> list[ReferralSummary]:
        rows = await self._rows(
            "SELECT r.source, r.status, r.deal_value, a.first_name AS referrer, f.first_name AS friend,"
            " r.friend_contact FROM referrals r JOIN customers a ON a.telegram_id = r.referrer_id"
            " JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        )
        return [ReferralSummary(**row) for row in rows]

    async def reward_summaries(self) -> list[RewardSummary]:
        rows = await self._rows(
            "SELECT c.first_name AS name, w.description, w.status FROM rewards w"
            " JOIN customers c ON c.telegram_id = w.customer_id ORDER BY w.role DESC"
        )
        return [RewardSummary(**row) for row in rows]
