"""What the charts draw (bot/reports/charts.py): the funnel of a period, counted as `/referrals stats` counts it, and
the period's weeks, read from the tallies kept as referrals arrive and convert (storage/source_sql.py).

A chart's period is a number of weeks (12w, the default; 52w for a year), or a stats period (30d, 90d, all). Weeks
are calendar weeks, Monday to Sunday in UTC as the tallies' days are; the current one is counted so far. Given in
weeks, the funnel starts with the first week, so the weeks add up to the funnel's arrivals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.core.figures import DayCounts
from bot.core.validation import parse_count
from bot.reports.sources import sources
from bot.reports.stats import Period, parse_period
from bot.reports.tallies import counts_by_variant, total
from storage.base import Store

DEFAULT_WEEKS = 12
DEFAULT_CHART_PERIOD = f"{DEFAULT_WEEKS}w"
MAX_WEEKS = 520  # ten years: past that a week is narrower than a pixel
STAGES = ("asked", "shared", "arrived", "claimed", "contacted", "converted")  # the funnel line of `/referrals stats`
TEAM_STAGES = frozenset({"arrived", "claimed", "contacted", "converted"})  # what the sales team moves; shares of them


@dataclass(frozen=True)
class ChartPeriod:
    label: str  # as the manager wrote it: 12w, 30d, all
    since: datetime | None  # the funnel's start; None: all time
    first_week: date | None  # the Monday the weeks start on; None: the week of the first arrival
    last_week: date  # the Monday of the week now is in

    @property
    def weeks(self) -> int | None:
        """How many weeks the label asks for (12w: 12), or None for a period in days or all time."""
        return int(self.label[:-1]) if self.label.endswith("w") else None

    @property
    def days(self) -> int | None:
        return int(self.label[:-1]) if self.label.endswith("d") else None


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_period(count: int, now: datetime) -> ChartPeriod:
    """The last `count` weeks, this one included."""
    last = monday(now.astimezone(UTC).date())
    first = last - timedelta(weeks=count - 1)
    return ChartPeriod(f"{count}w", datetime.combine(first, time(), UTC), first, last)


def parse_chart_period(text: str | None, now: datetime) -> ChartPeriod | None:
    """Nw (1 to 520 weeks) or any period `/referrals stats` takes; None when it is neither."""
    word = (text or DEFAULT_CHART_PERIOD).strip().lower()
    if word.endswith("w") and (count := parse_count(word[:-1], 1, MAX_WEEKS)) is not None:
        return weeks_period(count, now)
    period = parse_period(word, now)
    if period is None:
        return None
    first_week = monday(period.since.astimezone(UTC).date()) if period.since else None
    return ChartPeriod(period.label, period.since, first_week, monday(now.astimezone(UTC).date()))


@dataclass(frozen=True)
class Week:
    start: date  # its Monday
    arrived: int
    converted: int  # of the referrals that arrived in it
    revenue: Decimal  # their deal values, in the program's currency


@dataclass(frozen=True)
class ChartFigures:
    """Everything both charts show: equal figures draw equal charts, so a drawing can be kept while they hold."""

    period: ChartPeriod
    funnel: tuple[tuple[str, int], ...]  # (stage, count) in the order of STAGES
    weeks: tuple[Week, ...]  # oldest first, none missing
    currency: str

    def count(self, stage: str) -> int:
        return dict(self.funnel)[stage]


async def chart_figures(store: Store, period: ChartPeriod, currency: str) -> ChartFigures:
    """The funnel as `/referrals stats` reads it (its medians aside), and the weeks from the day tallies."""
    counts = total(await counts_by_variant(store, period.since))
    asked = (await sources(store, Period(period.label, period.since))).asked
    funnel = (
        ("asked", asked),
        ("shared", counts.shares),
        ("arrived", counts.arrived),
        ("claimed", counts.claimed),
        ("contacted", counts.contacted),
        ("converted", counts.converted),
    )
    days = await store.arrivals_by_day(period.first_week)
    return ChartFigures(period, funnel, weekly(days, period), currency)


def weekly(days: Sequence[DayCounts], period: ChartPeriod) -> tuple[Week, ...]:
    """The days summed into their weeks, from the period's first week (or the first arrival's) to this one; a
    week with nothing in it is there with zeros, so the chart's time axis has no gaps."""
    found = [(date.fromisoformat(day.day), day) for day in days]
    first = period.first_week or min((monday(day) for day, _ in found), default=period.last_week)
    starts = [first + timedelta(weeks=n) for n in range((period.last_week - first).days // 7 + 1)]
    sums = {start: [0, 0, 0] for start in starts}
    for day, counts in found:
        week = sums.get(monday(day))
        if week is not None:  # a day after this week: a clock set wrong once; not drawn
            week[0] += counts.arrived
            week[1] += counts.converted
            week[2] += counts.revenue_cents
    return tuple(Week(start, a, c, Decimal(cents) / 100) for start, (a, c, cents) in sums.items())
