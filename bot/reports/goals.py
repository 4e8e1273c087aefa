"""Progress toward the program's goals (`[[goals]]` in program.toml), as `/referrals stats`, the App Home dashboard
and `referral-bot stats` show it: "Q4 2026: 31 of 40 conversions (78%), 12 days left, on pace for 44".

A goal's period is the calendar month or quarter that holds the moment asked about, in the business_hours time
zone, so a quarter starts at midnight where the team works, not in UTC. The counts come from indexed ranges
(storage/goal_sql.py); "on pace for" is what a steady rate would reach: the count so far over the share of the
period gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.program.goals import Goal, GoalPeriod
from bot.program.rules import Program
from messages import numbers
from storage.base import Store

# Before a tenth of the period has gone (3 days of a month, 9 of a quarter) a projection is mostly noise: one early
# conversion would read as "on pace for 30".
PACE_AFTER = Decimal("0.1")
# Written out: strftime's %B follows the process locale. English here; the other languages name the month in their
# templates (messages/<locale>/period_name.mrkdwn), from the span's month and year.
MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
MONTHS += ("July", "August", "September", "October", "November", "December")
_WHOLE, _CENT = Decimal(1), Decimal("0.01")
_INSTANT = timedelta(microseconds=1)  # stored moments' precision: what was stored at `now` counts


@dataclass(frozen=True)
class Span:
    """A goal's current period: local midnights, from `start` up to (not including) `end`."""

    label: str  # "Q4 2026", "November 2026"
    start: datetime
    end: datetime
    month: int = 0  # 1 to 12 for a month's span; 0 for a quarter's
    quarter: int = 0  # 1 to 4 for a quarter's span; 0 for a month's
    year: int = 0


def span_of(period: GoalPeriod, now: datetime, zone: ZoneInfo) -> Span:
    local = now.astimezone(zone)
    months = 3 if period == "quarter" else 1
    first = (local.month - 1) // months * months + 1
    after = first + months  # 13 is next January
    start, end = date(local.year, first, 1), date(local.year + after // 13, (after - 1) % 12 + 1, 1)
    quarter, month = ((first + 2) // 3, 0) if period == "quarter" else (0, first)
    label = f"Q{quarter} {local.year}" if quarter else f"{MONTHS[first - 1]} {local.year}"
    bounds = datetime.combine(start, time(), zone), datetime.combine(end, time(), zone)
    return Span(label, *bounds, month=month, quarter=quarter, year=local.year)


@dataclass(frozen=True)
class GoalProgress:
    """One goal's line, its amounts written as the team reads them ("31", "2,350.00 EUR")."""

    label: str
    unit: str  # conversions, referrals, revenue (singular for a target of one)
    done: str
    target: str
    percent: int  # of the target, rounded; 100 only once it is reached
    reached: bool
    days_left: int  # today included: 1 is the period's last day
    pace: str | None  # the projection to the period's end; None early in the period
    name: str = ""  # the goal's own name, if it has one
    span: Span | None = None  # its period, for a language that names the month itself


async def goal_progress(store: Store, program: Program, now: datetime, locale: str = "en") -> list[GoalProgress]:
    """Every goal of the program, measured in its period up to `now`; its amounts written in `locale`."""
    zone, now = ZoneInfo(program.business_hours.timezone), now.astimezone(UTC)
    counted: dict[tuple[str, GoalPeriod], tuple[int, Decimal]] = {}
    lines = []
    for goal in program.goals:
        span = span_of(goal.period, now, zone)
        kind = "arrivals" if goal.metric == "referrals" else "conversions"
        if (kind, goal.period) not in counted:  # a conversions goal and a revenue goal share one count
            until = min(span.end, now + _INSTANT)
            if kind == "arrivals":
                counted[kind, goal.period] = (await store.arrivals_between(span.start, until), Decimal(0))
            else:
                counted[kind, goal.period] = await store.conversions_between(span.start, until)
        count, revenue = counted[kind, goal.period]
        done = revenue if goal.metric == "revenue" else Decimal(count)
        lines.append(_progress(goal, span, now, done, program.program.currency, locale))
    return lines


def as_it_stood(day: str, program: Program) -> datetime | None:
    """The last moment of a day (YYYY-MM-DD) where the team works, when `referral-bot stats --goals-on` shows the
    goals: a past quarter's last day gives its result. None when it is not a date."""
    zone = ZoneInfo(program.business_hours.timezone)
    try:
        after = date.fromisoformat(day) + timedelta(days=1)
        return datetime.combine(after, time(), zone).astimezone(UTC) - _INSTANT
    except (ValueError, OverflowError):  # not a date, or the last days the calendar holds
        return None


def _length(start: datetime, end: datetime) -> Decimal:
    # In real time (UTC): a quarter with a clock change is an hour longer or shorter than its wall-clock days.
    return Decimal((end.astimezone(UTC) - start.astimezone(UTC)) // _INSTANT)


def _progress(goal: Goal, span: Span, now: datetime, done: Decimal, currency: str, locale: str) -> GoalProgress:
    gone = _length(span.start, now) / _length(span.start, span.end)
    reached = done >= goal.target
    percent = int((100 * done / goal.target).quantize(_WHOLE, ROUND_HALF_UP))
    singular = goal.metric != "revenue" and goal.target == 1

    def amount(value: Decimal) -> str:
        if goal.metric == "revenue":
            return numbers.money(value.quantize(_CENT, ROUND_HALF_UP), currency, locale)
        return numbers.number(value.quantize(_WHOLE, ROUND_HALF_UP), locale)

    return GoalProgress(
        label=f"{goal.name} ({span.label})" if goal.name else span.label,
        unit=goal.metric[:-1] if singular else goal.metric,
        done=amount(done),
        target=amount(goal.target),
        percent=percent if reached else min(percent, 99),
        reached=reached,
        days_left=(span.end.date() - now.astimezone(span.start.tzinfo).date()).days,
        pace=amount(done / gone) if gone >= PACE_AFTER else None,
        name=goal.name or "",
        span=span,
    )
