"""The goals' counts (bot/reports/goals.py): what arrived, and what converted and for how much, between two moments.

Each is one range of an index that holds all it reads: arrivals of `referrals_by_arrival` (migration 0010),
conversions and their deal values of `referrals_by_conversion` (0017). A quarter of a large program is a few
hundred thousand index entries, never the table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from storage.rows import to_db
from storage.sql_base import Scans

_ARRIVALS = "SELECT COUNT(*) AS n FROM referrals WHERE created_at >= ? AND created_at < ?"
# Deal values are stored as decimal text; PostgreSQL sums them exactly, SQLite as floats, rounded to cents below.
_CONVERSIONS = (
    "SELECT COUNT(*) AS n, SUM(CAST(deal_value AS NUMERIC)) AS revenue FROM referrals"
    " WHERE converted_at >= ? AND converted_at < ?"
)
CENT = Decimal("0.01")


def _bounds(start: datetime, end: datetime) -> tuple[str, str]:
    # Stored moments are UTC text, compared as text: the bounds must be written the same way.
    return str(to_db(start.astimezone(UTC))), str(to_db(end.astimezone(UTC)))


class GoalSql(Scans):
    async def arrivals_between(self, start: datetime, end: datetime) -> int:
        rows = await self._rows(_ARRIVALS, *_bounds(start, end))
        return int(rows[0]["n"])

    async def conversions_between(self, start: datetime, end: datetime) -> tuple[int, Decimal]:
        row = (await self._rows(_CONVERSIONS, *_bounds(start, end)))[0]
        return int(row["n"]), Decimal(str(row["revenue"] or 0)).quantize(CENT)
