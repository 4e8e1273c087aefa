"""The figures' reads in portable SQL: the funnel's counts per variant, the medians of the stored durations, the
leaderboard, what is pending, the reps, the CSV export, NPS and the feedback managers read. Mixed into the SQL
stores, and run where a scan holds up no writer.

Whole days of the funnel come from the tallies (storage/tally_sql.py); the period's first day, which starts
part-way through, is counted from the referrals and shares themselves, a day's worth of rows read from their time
index. Medians read the stored durations from their index, stepping to the middle one."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.figures import (
    AdvocateLine,
    Counts,
    ExportLine,
    HeldLine,
    Measure,
    NpsComment,
    NpsFigures,
    PendingLine,
    RepCounts,
    SurveyAnswer,
)
from storage.rows import to_db
from storage.sql_base import Scans
from storage.tally_sql import BREACHED, day_of

_REFERRALS_OF_DAYS = (
    "SELECT variant, SUM(arrived) AS arrived, SUM(claimed) AS claimed, SUM(contacted) AS contacted,"
    " SUM(converted) AS converted, SUM(breached) AS breached FROM referral_tallies WHERE day >= ? GROUP BY variant"
)
_SHARES_OF_DAYS = "SELECT variant, SUM(shares) AS shares FROM share_tallies WHERE day >= ? GROUP BY variant"
_REFERRALS_BETWEEN = (
    "SELECT COALESCE(r.variant, '') AS variant, COUNT(*) AS arrived, COUNT(r.claimed_at) AS claimed,"
    " COUNT(r.contacted_at) AS contacted, COUNT(r.converted_at) AS converted,"
    f" SUM(CASE WHEN {BREACHED} THEN 1 ELSE 0 END) AS breached"
    " FROM referrals r WHERE r.created_at >= ? AND r.created_at < ? GROUP BY COALESCE(r.variant, '')"
)
_SHARES_BETWEEN = (
    "SELECT COALESCE(c.variant, '') AS variant, COUNT(*) AS shares FROM share_events s"
    " LEFT JOIN customers c ON c.telegram_id = s.customer_id"
    " WHERE s.created_at >= ? AND s.created_at < ? GROUP BY COALESCE(c.variant, '')"
)


@dataclass(frozen=True)
class _Duration:
    """A stored duration in seconds, as SQL, and the terms that say a referral has it."""

    seconds: str
    present: str


# The terms match migration 0011's indexes (claim to contact: a rep's time from their claim).
_MEASURES: dict[Measure, _Duration] = {
    "claim": _Duration("claim_seconds", "claim_seconds IS NOT NULL"),
    "contact": _Duration("contact_seconds", "contact_seconds IS NOT NULL"),
    "claim_to_contact": _Duration(
        "contact_seconds - claim_seconds", "contact_seconds IS NOT NULL AND claim_seconds IS NOT NULL"
    ),
}

_LEADERBOARD = (
    # The advocates' counts are kept as referrals move (advocate_tallies). The limit-th line's counts are found in
    # the rank index, then only advocates at or above it are joined and sorted, ties on the last line included.
    "WITH last_line AS (SELECT converted, referrals FROM advocate_tallies WHERE referrals > 0"
    " ORDER BY converted DESC, referrals DESC LIMIT 1 OFFSET ?),"
    " cut AS (SELECT COALESCE(MAX(converted), 0) AS converted, COALESCE(MAX(referrals), 0) AS referrals"
    " FROM last_line)"
    " SELECT c.first_name, c.last_name, c.username, c.segment, t.referrals, t.converted"
    " FROM cut, advocate_tallies t JOIN customers c ON c.telegram_id = t.referrer_id"
    " WHERE t.referrals > 0 AND t.converted >= cut.converted"
    " AND (t.converted > cut.converted OR t.referrals >= cut.referrals)"
    " ORDER BY t.converted DESC, t.referrals DESC, c.first_name LIMIT ?"
)
# Each status is read oldest-first from its index and cut at the limit before merging, so a large backlog is
# never sorted whole.
_OLDEST = "SELECT * FROM (SELECT id FROM referrals WHERE status = '{}' ORDER BY created_at LIMIT ?) AS {}"
_PENDING = (
    "SELECT r.id, r.status, r.assignee, r.created_at, r.claimed_at, r.friend_name,"
    " f.first_name AS friend_first_name, c.first_name AS referrer_name"
    f" FROM ({_OLDEST.format('new', 'n')} UNION ALL {_OLDEST.format('claimed', 'c')}) AS o"
    " JOIN referrals r ON r.id = o.id JOIN customers c ON c.telegram_id = r.referrer_id"
    " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
    " ORDER BY r.created_at LIMIT ?"
)
# The review queue, oldest first from the status index.
_HELD = (
    "SELECT r.id, r.created_at, r.source, r.flag_reason, r.friend_name, f.first_name AS friend_first_name,"
    " c.first_name AS referrer_name, c.username AS referrer_username"
    " FROM (SELECT id FROM referrals WHERE status = 'held' ORDER BY created_at LIMIT ?) AS o"
    " JOIN referrals r ON r.id = o.id JOIN customers c ON c.telegram_id = r.referrer_id"
    " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
    " ORDER BY r.created_at, r.id"
)
_REPS = (
    "SELECT assignee, COUNT(*) AS claimed, SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END) AS converted,"
    " COUNT(claim_seconds) AS timed_claims,"
    " COUNT(CASE WHEN claim_seconds IS NOT NULL THEN contact_seconds END) AS timed_contacts"
    " FROM referrals WHERE assignee IS NOT NULL AND created_at >= ? GROUP BY assignee"
)
_EXPORT = (
    "SELECT e.created_at AS event_at, e.kind, e.actor, e.data, r.id, r.created_at, r.referrer_id,"
    " c.first_name AS referrer_name, r.friend_telegram_id, COALESCE(f.first_name, r.friend_name) AS friend,"
    " r.source, r.channel, r.status, r.assignee, r.deal_value, c.email AS referrer_email, r.friend_contact_kind,"
    " r.friend_contact, r.friend_phone, r.friend_consent_text, r.friend_consent_at"
    " FROM events e JOIN referrals r ON r.id = e.subject JOIN customers c ON c.telegram_id = r.referrer_id"
    " LEFT JOIN customers f ON f.telegram_id = r.friend_telegram_id"
    " WHERE e.kind IN ('referral.created', 'referral.status', 'referral.reattributed') AND r.created_at >= ?"
    " ORDER BY r.created_at, r.id, e.created_at"
)


def _since(since: datetime | None) -> str:
    return str(to_db(since)) if since else ""  # every stored timestamp sorts after ''


def _add(found: dict[str, Counts], rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        variant = str(row["variant"])
        counted = Counts(**{k: int(v or 0) for k, v in row.items() if k != "variant"})
        found[variant] = found.get(variant, Counts()) + counted


class ReportSql(Scans):
    async def counts_by_variant(self, since: datetime | None) -> dict[str, Counts]:
        first_whole_day = ""
        found: dict[str, Counts] = {}
        if since is not None:
            start = str(to_db(since))
            first_whole_day = (date.fromisoformat(day_of(since)) + timedelta(days=1)).isoformat()
            _add(found, await self._rows(_REFERRALS_BETWEEN, start, first_whole_day))
            _add(found, await self._rows(_SHARES_BETWEEN, start, first_whole_day))
        _add(found, await self._rows(_REFERRALS_OF_DAYS, first_whole_day))
        _add(found, await self._rows(_SHARES_OF_DAYS, first_whole_day))
        return found

    async def median_minutes(
        self, measure: Measure, since: datetime | None, count: int, rep: str | None = None
    ) -> float | None:
        if count <= 0:
            return None
        duration, start = _MEASURES[measure], _since(since)
        # With no start the period term is left out: the planner would take it for a narrowing range and sort
        # the rows found through another index, instead of walking the duration's own index in order.
        terms = [*(["assignee = ?"] if rep else []), duration.present, *(["created_at >= ?"] if start else [])]
        params = [*([rep] if rep else []), *([start] if start else []), (count - 1) // 2]
        rows = await self._rows(
            f"SELECT {duration.seconds} AS seconds FROM referrals WHERE {' AND '.join(terms)}"
            f" ORDER BY {duration.seconds} LIMIT 2 OFFSET ?",
            *params,
        )
        middle = [float(row["seconds"]) for row in rows][: 2 - count % 2]
        return statistics.fmean(middle) / 60 if middle else None

    async def leaderboard(self, limit: int) -> list[AdvocateLine]:
        return [AdvocateLine(**row) for row in await self._rows(_LEADERBOARD, limit - 1, limit)]

    async def pending_referrals(self, limit: int) -> list[PendingLine]:
        return [PendingLine(**row) for row in await self._rows(_PENDING, limit, limit, limit)]

    async def pending_count(self) -> int:
        rows = await self._rows("SELECT COUNT(*) AS n FROM referrals WHERE status IN ('new', 'claimed')")
        return int(rows[0]["n"])

    async def review_queue(self, limit: int) -> list[HeldLine]:
        return [HeldLine(**row) for row in await self._rows(_HELD, limit)]

    async def review_count(self) -> int:
        rows = await self._rows("SELECT COUNT(*) AS n FROM referrals WHERE status = 'held'")
        return int(rows[0]["n"])

    async def rep_counts(self, since: datetime | None) -> list[RepCounts]:
        return [
            RepCounts(
                str(row["assignee"]),
                int(row["claimed"]),
                int(row["converted"] or 0),
                int(row["timed_claims"]),
                int(row["timed_contacts"]),
            )
            for row in await self._rows(_REPS, _since(since))
        ]

    async def export_lines(self, since: datetime | None) -> list[ExportLine]:
        return [ExportLine(**row) for row in await self._rows(_EXPORT, _since(since))]

    async def nps_figures(self, since: datetime | None) -> NpsFigures:
        rows = await self._rows(
            "SELECT SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,"
            " SUM(CASE WHEN score BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,"
            " SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors"
            " FROM nps_answers WHERE score IS NOT NULL AND answered_at >= ?",
            to_db(since) if since else "",
        )
        row = rows[0]
        return NpsFigures(int(row["promoters"] or 0), int(row["passives"] or 0), int(row["detractors"] or 0))

    async def survey_answers(self, limit: int) -> list[SurveyAnswer]:
        rows = await self._rows(
            "SELECT a.answer, a.created_at, c.first_name, c.last_name, c.username FROM feedback_answers a"
            " JOIN customers c ON c.telegram_id = a.customer_id ORDER BY a.created_at DESC, a.id LIMIT ?",
            limit,
        )
        return [SurveyAnswer(**row) for row in rows]

    async def nps_comments(self, limit: int) -> list[NpsComment]:
        rows = await self._rows(
            "SELECT n.score, n.comment, n.commented_at AS created_at, c.first_name, c.last_name, c.username"
            " FROM nps_answers n JOIN customers c ON c.telegram_id = n.customer_id"
            " WHERE n.comment IS NOT NULL ORDER BY n.commented_at DESC, n.id LIMIT ?",
            limit,
        )
        return [NpsComment(**row) for row in rows]

    async def customers_by_variant(self) -> dict[str | None, int]:
        rows = await self._rows("SELECT variant, COUNT(*) AS n FROM customers GROUP BY variant")
        return {row["variant"]: int(row["n"]) for row in rows}
