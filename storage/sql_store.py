"""Store methods whose SQL is the same on every backend; a backend supplies how it writes and looks up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from bot.core.models import FORGET_CHAT, ParkedUpdate
from storage.crm_sql import CrmSql
from storage.email_sql import EmailSql
from storage.engagement_sql import EngagementScans
from storage.goal_sql import GoalSql
from storage.kit_sql import KitSql
from storage.migrations import Dialect
from storage.operations_sql import OperationsSql
from storage.report_sql import ReportSql
from storage.retention_sql import RetentionSql
from storage.rows import to_db
from storage.site_sql import SiteSql
from storage.source_sql import SourceScans
from storage.speed_sql import SpeedScans
from storage.sql_base import Executor
from storage.sql_transaction import SqlTransaction
from storage.tally_sql import recount_statements
from storage.trigger_sql import TriggerScans

# A referral erased meanwhile is skipped rather than failing the commit it rides in (mark_sent's, with_send).
_REMEMBER_ALERT = (
    "INSERT INTO slack_alerts (referral_id, channel, ts, digest, updated_at)"
    " SELECT id, ?, ?, ?, ? FROM referrals WHERE id = ?"
    " ON CONFLICT (referral_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,"
    " digest = excluded.digest, updated_at = excluded.updated_at"
)

# A row marked to forget its chat (an erasure's confirmation) keeps neither chat id nor text once it is settled.
# Every SET term reads the row as it was before the update, so both CASEs still find the marker, which leads the
# stored JSON (the first parameters, twice, are _FORGETS).
_SETTLED = (
    "chat_id = CASE WHEN payload LIKE ? THEN '' ELSE chat_id END,"
    " payload = CASE WHEN payload LIKE ? THEN '{}' ELSE payload END"
)
_FORGETS = (f'{{"{FORGET_CHAT}":true%',) * 2


class SqlStoreBase(
    ReportSql,
    SourceScans,
    GoalSql,
    OperationsSql,
    EngagementScans,
    TriggerScans,
    CrmSql,
    RetentionSql,
    KitSql,
    EmailSql,
    SiteSql,
    SpeedScans,
):
    dialect: Dialect

    def __init__(self) -> None:
        self._alerts_to_record: dict[str, tuple[Any, ...]] = {}  # referral id → slack_alerts row, for mark_sent

    def _write(self, urgent: bool = False) -> AbstractAsyncContextManager[Executor]:
        """A write transaction; `urgent` ones record what already reached a platform, so they go first."""
        raise NotImplementedError

    def _lookup(self) -> AbstractAsyncContextManager[Executor]:
        """Indexed reads outside any transaction."""
        raise NotImplementedError

    async def claim_inbound(self, inbound_id: str, at: datetime) -> bool:
        async with self._write() as db:
            return await SqlTransaction(db).claim_inbound(inbound_id, at)

    async def recount_report_figures(self) -> None:
        async with self._write() as db:
            for statement in recount_statements(self.dialect):
                await db.execute(statement)

    async def mark_sent(self, sent: Mapping[str, str | None], at: datetime) -> None:
        staged = dict(self._alerts_to_record)
        async with self._write(urgent=True) as db:
            for row in staged.values():
                await db.execute(_REMEMBER_ALERT, row)
            for row_id, platform_message_id in sent.items():
                await db.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, platform_message_id = ?,"
                    f" {_SETTLED} WHERE id = ?",
                    (to_db(at), platform_message_id, *_FORGETS, row_id),
                )
        for referral_id, row in staged.items():  # kept if the commit failed: the next attempt writes them
            if self._alerts_to_record.get(referral_id) is row:
                del self._alerts_to_record[referral_id]

    async def retry_later(self, row_id: str, at: datetime, error: str, counts: bool = True) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ?,"
                " attempts = attempts - ? WHERE id = ?",
                (to_db(at), error, 0 if counts else 1, row_id),
            )

    async def release(self, row_id: str, at: datetime) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET status = 'pending', lease_until = NULL, next_attempt_at = ?,"
                " attempts = attempts - 1 WHERE id = ? AND status = 'sending'",
                (to_db(at), row_id),
            )

    async def mark_dead(self, row_id: str, at: datetime, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                f"UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = ?, sent_at = NULL, {_SETTLED}"
                " WHERE id = ?",
                (error, *_FORGETS, row_id),
            )
            await SqlTransaction(db).log_event("outbox.dead", at, subject=row_id, error=error)

    async def park_update(self, update: ParkedUpdate, at: datetime) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO parked_updates (update_id, sender, payload, attempts, parked_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (update_id) DO UPDATE SET attempts = excluded.attempts",
                (update.update_id, update.sender, update.payload, update.attempts, to_db(at)),
            )

    async def parked_updates(self) -> list[ParkedUpdate]:
        async with self._lookup() as db:
            rows = await db.fetch_all(
                "SELECT update_id, sender, payload, attempts FROM parked_updates ORDER BY update_id"
            )
        return [ParkedUpdate(**row) for row in rows]

    async def unpark_update(self, update_id: int) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM parked_updates WHERE update_id = ?", (update_id,))

    async def remember_alerts(
        self, referral_ids: Sequence[str], channel: str, ts: str, digest: bool, at: datetime, with_send: bool = False
    ) -> None:
        rows = {r: (channel, ts, int(digest), to_db(at), r) for r in referral_ids}
        if with_send:
            self._alerts_to_record.update(rows)
            return
        async with self._write(urgent=True) as db:
            for row in rows.values():
                await db.execute(_REMEMBER_ALERT, row)

    async def alert_message(self, referral_id: str) -> tuple[str, bool] | None:
        async with self._lookup() as db:
            rows = await db.fetch_all("SELECT ts, digest FROM slack_alerts WHERE referral_id = ?", (referral_id,))
        return (rows[0]["ts"], bool(rows[0]["digest"])) if rows else None

    async def waiting_alerts(self, channel: str) -> int:
        async with self._lookup() as db:
            rows = await db.fetch_all(
                "SELECT COUNT(*) AS n FROM outbox WHERE platform = 'slack' AND chat_id = ?"
                " AND status IN ('pending', 'sending') AND dedupe_key LIKE 'alert:%'",
                (channel,),
            )
        return int(rows[0]["n"])
