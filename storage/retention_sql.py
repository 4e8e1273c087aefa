"""Deleting what RETENTION_DAYS lets go (bot/core/retention.py says what is kept and why), in portable SQL.

Each batch reads the next rows older than the cutoff from a time index (migration 0015) where a scan holds up no
writer, then deletes those not kept in one short write transaction of its own, so SQLite's write lock is never held
for more than one batch. The scan goes on from the last row it looked at (its mark): rows kept whatever their age
are passed once, not read again by every batch."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.retention import KEPT_EVENT_KINDS, Mark, Pruned, Table
from storage.erasure_sql import QUOTES
from storage.migrations import Dialect
from storage.rows import to_db
from storage.sql_base import Executor, Scans

# A payload's kind, read from its JSON text.
_KIND: dict[Dialect, str] = {
    "sqlite": "json_extract(t.payload, '$.kind')",
    "postgresql": "CAST(t.payload AS json) ->> 'kind'",
}


@dataclass(frozen=True)
class _Table:
    name: str
    at: str  # the column a row's age is counted from
    kept: str = "1 = 0"  # true for a row that stays whatever its age (`{kind}` is the payload's kind)
    kept_params: Sequence[str] = ()
    settled: str = ""  # checked again as rows are deleted: a row that is no longer finished with stays
    naming: tuple[tuple[str, str], ...] = ()  # tables and columns whose rows exist only for this table's rows


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


# Slack messages `forget` may have to reach however old: those that may quote a person (redacted), and routing's DM
# cards (redrawn: their ts is found by their `offer` row).
_REACHED = sorted(QUOTES | {"offer"})


_TABLES: dict[Table, _Table] = {
    # Only sent rows have sent_at (a dead letter's is cleared). Slack messages that may quote a person stay, for
    # `forget` to redact (storage/privacy_sql.py), and so do routing's DM cards, for it to redraw.
    "outbox": _Table(
        "outbox",
        "sent_at",
        f"t.platform = 'slack' AND t.platform_message_id IS NOT NULL AND {{kind}} IN ({_marks(len(_REACHED))})",
        _REACHED,
        " AND status = 'sent'",
        (
            ("outbox_subjects", "outbox_id"),  # whose names a message carries, for `forget`: they go with it
            ("email_attempts", "outbox_id"),  # an e-mail's SMTP exchange begun: needed only until it is settled
        ),
    ),
    "events": _Table(
        "events",
        "created_at",
        f"t.kind IN ({_marks(len(KEPT_EVENT_KINDS))}) OR EXISTS (SELECT 1 FROM referrals r WHERE r.id = t.subject)",
        KEPT_EVENT_KINDS,
    ),
    "processed_inbound": _Table("processed_inbound", "processed_at"),
    "request_keys": _Table("request_keys", "first_used_at"),
}


class RetentionSql(Scans):
    dialect: Dialect

    def _write(self, urgent: bool = False) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def prune(self, table: Table, before: datetime, after: Mark, limit: int) -> Pruned:
        spec = _TABLES[table]
        kept = spec.kept.format(kind=_KIND[self.dialect])
        rows = await self._rows(
            f"SELECT t.id, t.{spec.at} AS at, CASE WHEN {kept} THEN 1 ELSE 0 END AS kept FROM {spec.name} t"
            f" WHERE t.{spec.at} < ? AND (t.{spec.at}, t.id) > (?, ?) ORDER BY t.{spec.at}, t.id LIMIT ?",
            *spec.kept_params,
            to_db(before.astimezone(UTC)),  # stored times are UTC text, whose text order is their time order
            *after,
            limit,
        )
        if not rows:
            return Pruned(0, after, True)
        doomed = [str(row["id"]) for row in rows if not row["kept"]]
        removed = await self._delete(spec, doomed) if doomed else 0
        last = rows[-1]
        return Pruned(removed, (str(last["at"]), str(last["id"])), len(rows) < limit)

    async def _delete(self, spec: _Table, ids: Sequence[str]) -> int:
        async with self._write() as db:
            gone = await db.fetch_all(
                f"DELETE FROM {spec.name} WHERE id IN ({_marks(len(ids))}){spec.settled} RETURNING id", ids
            )
            for table, column in spec.naming if gone else ():
                await db.execute(
                    f"DELETE FROM {table} WHERE {column} IN ({_marks(len(gone))})", [row["id"] for row in gone]
                )
        return len(gone)
