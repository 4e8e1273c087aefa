"""The outbox claim, shared by the SQL backends: the higher lanes first (bot/core/lanes.py), a chat's rows in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.core.lanes import Lane
from bot.core.models import OutboxRow
from storage.rows import from_row, to_db
from storage.sql_base import Executor

BULK = int(Lane.BULK)
_ABOVE_BULK = ", ".join(str(int(lane)) for lane in Lane if lane < BULK)  # IN, not <: the planner takes the index


def _due(t: str) -> str:
    return (
        f"(({t}.status = 'pending' AND {t}.next_attempt_at <= ?) OR ({t}.status = 'sending' AND {t}.lease_until <= ?))"
    )


# The same test as one expression (one parameter): no index can serve it, so the planner looks for rows by the
# other terms (by lane, by chat) instead of reading every due row of a campaign through outbox_due.
_DUE_BY_CASE = "CASE o.status WHEN 'pending' THEN o.next_attempt_at WHEN 'sending' THEN o.lease_until END <= ?"

# A row is handed out only when every earlier open row of its chat is handed out too, so a chat's
# messages never overtake one that is waiting for a retry (or is being sent: leased rows are not due). The first
# blocked row of each chat is found once (not once per candidate row), so a long backlog in one channel stays cheap.
# Open and not due, said as ranges of outbox_due: only rows waiting for later are read, not the due backlog.
# Except a notification held for its chat's window (migration 0027): it holds up only the held rows after it, so
# a reply to the person goes at once while their thank-yous wait for the minute, and held rows keep their order.
# `first` is the first blocked row that blocks every later row, `first_any` the first blocked row of any kind.
_BLOCKED = """blocked AS (
    SELECT e.platform, e.chat_id, MIN(CASE WHEN e.held = 0 THEN e.rowid END) AS first, MIN(e.rowid) AS first_any
    FROM outbox e
    WHERE (e.status = 'pending' AND e.next_attempt_at > ?) OR (e.status = 'sending' AND e.lease_until > ?)
    GROUP BY e.platform, e.chat_id
)"""
# Whether row `o` is ahead of whatever blocks its chat (`b` joined by chat; no `b` row: nothing blocks it).
_IN_TURN = "o.rowid < COALESCE(CASE WHEN o.held = 0 THEN b.first ELSE b.first_any END, o.rowid + 1)"

# Bulk rows, oldest first, once the rows above them are taken. The ORDER BY rowid is the old single-lane claim.
CLAIMABLE_BULK = f"""
WITH {_BLOCKED}
SELECT o.* FROM outbox o LEFT JOIN blocked b ON b.platform = o.platform AND b.chat_id = o.chat_id
WHERE {_due("o")} AND (? IS NULL OR o.platform = ?) AND {_IN_TURN} AND o.lane >= {BULK}
ORDER BY o.rowid LIMIT ?
"""

# Rows above the bulk lane, found through the partial index of open rows by lane (migration 0025) without reading a
# campaign's thousands, each with every earlier open row of its chat: those must go first, so they are taken along
# in the chat's most urgent lane (those in turn: a held row not yet due may have a due held row behind it). Ordered
# by that lane, then as queued, so a LIMIT never cuts a chat's rows short of one taken: a chat's rows share one lane
# here and stay in rowid order.
CLAIMABLE_URGENT = f"""
WITH {_BLOCKED},
urgent AS (
    SELECT o.platform, o.chat_id, MIN(o.lane) AS lane, MAX(o.rowid) AS last
    FROM outbox o LEFT JOIN blocked b ON b.platform = o.platform AND b.chat_id = o.chat_id
    WHERE o.lane IN ({_ABOVE_BULK}) AND o.status IN ('pending', 'sending') AND {_DUE_BY_CASE}
        AND (? IS NULL OR o.platform = ?) AND {_IN_TURN}
    GROUP BY o.platform, o.chat_id
)
SELECT o.* FROM urgent u JOIN outbox o ON o.platform = u.platform AND o.chat_id = u.chat_id AND o.rowid <= u.last
LEFT JOIN blocked b ON b.platform = o.platform AND b.chat_id = o.chat_id
WHERE o.status IN ('pending', 'sending') AND {_DUE_BY_CASE} AND {_IN_TURN}
ORDER BY u.lane, o.rowid LIMIT ?
"""

Lease = Callable[[Executor, list[str], str], Awaitable[None]]  # the backend's UPDATE of rows to 'sending'


async def claim_in_lanes(
    db: Executor,
    sql: tuple[str, str],
    lease_rows: Lease,
    now: datetime,
    limit: int,
    lease: timedelta,
    platform: str | None,
    bulk: int | None,
) -> list[OutboxRow]:
    """Both claims in one transaction (`sql`: the backend's urgent and bulk statements). The urgent rows are leased
    before the bulk claim reads, so a chat they were taken from counts as busy there and its later bulk rows wait.
    The bulk claim runs only when the urgent one left room: a cut-short urgent claim may have left a chat's earlier
    rows behind, and its bulk rows must not go ahead of them."""
    stamp, until = to_db(now), to_db(now + lease)
    rows = await db.fetch_all(sql[0], (stamp, stamp, stamp, platform, platform, stamp, limit))
    if rows:
        await lease_rows(db, [row["id"] for row in rows], until)
    room = limit - len(rows) if bulk is None else min(limit - len(rows), bulk)
    if room > 0:
        more = await db.fetch_all(sql[1], (stamp, stamp, stamp, stamp, platform, platform, room))
        if more:
            await lease_rows(db, [row["id"] for row in more], until)
        rows += more
    return [_claimed(row) for row in rows]


def _claimed(row: dict[str, Any]) -> OutboxRow:
    return from_row(OutboxRow, {**row, "attempts": row["attempts"] + 1, "reclaimed": row["lease_until"] is not None})
