"""What every storage backend lets the figures, sweeps and operator tools read outside any transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from bot.core.figures import (
    AdvocateLine,
    CampaignLine,
    Counts,
    DayCounts,
    ExportLine,
    HeldLine,
    Measure,
    NpsComment,
    NpsFigures,
    OutboxCount,
    PendingLine,
    ReferralSummary,
    RepCounts,
    RewardSummary,
    SourceCounts,
    SurveyAnswer,
)
from bot.core.models import DueAsk, NpsQuestion, Referral


class Reads(Protocol):
    """Reads outside any transaction that may scan tables: the figures, sweeps and operator tools. They run where
    they hold up no writer. Timestamps in the lines they return are as stored (ISO text)."""

    async def counts_by_variant(self, since: datetime | None) -> dict[str, Counts]:
        """The funnel's counts per variant ('' for none) of what arrived and was shared from `since` on."""

    async def median_minutes(
        self, measure: Measure, since: datetime | None, count: int, rep: str | None = None
    ) -> float | None:
        """The median duration over the `count` referrals (of one rep) that have it and arrived from `since` on:
        its index is walked in order to the middle, not read whole."""

    async def leaderboard(self, limit: int) -> list[AdvocateLine]:
        """The top advocates by conversions, then referrals; ties with the last line are included."""

    async def pending_referrals(self, limit: int) -> list[PendingLine]:
        """Unclaimed and uncontacted referrals, oldest first."""

    async def pending_count(self) -> int: ...
    async def review_queue(self, limit: int) -> list[HeldLine]:
        """Referrals held for a manager's review (status held), oldest first."""

    async def review_count(self) -> int: ...
    async def rep_counts(self, since: datetime | None) -> list[RepCounts]: ...
    async def export_lines(self, since: datetime | None) -> list[ExportLine]:
        """Every creation, status change and reattribution of the referrals made from `since` on, in order."""

    async def nps_figures(self, since: datetime | None) -> NpsFigures: ...
    async def survey_answers(self, limit: int) -> list[SurveyAnswer]: ...
    async def nps_comments(self, limit: int) -> list[NpsComment]: ...
    async def customers_by_variant(self) -> dict[str | None, int]: ...
    async def source_counts(self, since: datetime | None) -> list[SourceCounts]:
        """Asks, arrivals, conversions, revenue and rewards' cost per share channel and prompting ask, of what
        arrived (and was asked) from `since` on."""

    async def arrivals_by_day(self, since: date | None) -> list[DayCounts]:
        """Per arrival day from `since` on (None: every day), oldest first: arrivals, their conversions and revenue,
        summed from the source tallies; a day with nothing counted is not there."""

    async def campaigns(self, ids: Sequence[str]) -> list[CampaignLine]:
        """The ask campaigns with these ids, as their events recorded them."""

    async def arrivals_between(self, start: datetime, end: datetime) -> int:
        """Referrals that arrived in [start, end), counted from their time index."""

    async def conversions_between(self, start: datetime, end: datetime) -> tuple[int, Decimal]:
        """Referrals converted in [start, end), and the sum of their deal values (to the cent)."""

    async def due_for_nps(
        self, joined_before: datetime, segments: Sequence[str], asked_after: datetime, limit: int
    ) -> list[int]:
        """Customers who joined before a moment and may be asked NPS: not opted out, reachable, never asked this
        way and not asked at all since `asked_after`; the longest-standing first."""

    async def unalerted_detractors(self, answered_before: datetime, limit: int) -> list[NpsQuestion]: ...
    async def waiting_asks(self, due_by: datetime | None, limit: int) -> list[DueAsk]:
        """Asks waiting for their trigger's moment, due by a moment (None: whenever), soonest first."""

    async def referrals_page(
        self,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Referral]:
        """Referrals oldest first, filtered by status and by [since, until), starting after a (created_at, id)
        cursor; ids break ties between referrals created in the same instant."""

    async def referral_trail(self, referral_id: str) -> list[dict[str, Any]]:
        """The referral's audit events, oldest first, each with its data as JSON."""

    async def reward_trail(self, referral_id: str) -> list[dict[str, Any]]:
        """The referral's rewards, for the trail: each reward's own events are keyed by the reward's id."""

    async def ping(self) -> None:
        """Raises unless the database answers."""

    async def referrals_by_status(self) -> dict[str, int]: ...
    async def outbox_counts(self, statuses: Sequence[str] | None = None) -> list[OutboxCount]: ...
    async def dead_letters(self) -> int: ...
    async def referral_summaries(self) -> list[ReferralSummary]: ...
    async def reward_summaries(self) -> list[RewardSummary]: ...
