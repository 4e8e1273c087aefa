"""The managers' weekly speed-to-lead summary: each Monday at 09:00 business time (the program's business-hours time
zone), a direct message to every manager, in their own language, about the week before: the median time to first
contact against the target, how many referrals met it, and the slowest ones.

It is a periodic part, and the week's summary is one unit of work keyed by the ISO week: a second instance, a
restart or a later pass of the same week finds the key taken and does nothing. A bot that was down over Monday 09:00
sends it when it starts, late, and only for the latest week: the key is the current week's, never an older one.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.first_contact import FirstContactLine
from bot.core.periodic import Periodic
from bot.core.subjects import friend_of
from bot.core.unit_of_work import Units, Work
from bot.program.rules import Program
from bot.program.texts import Texts
from bot.team.alerts import Alerts
from bot.team.languages import reader_locale
from bot.team.speed import Waiting, measure, whole_minutes
from bot.team.wording import business_duration, friend_or_someone
from storage.base import Store

log = logging.getLogger(__name__)
SENT_AT = time(9, 0)  # Monday, business time
SLOWEST = 5
SENT_EVENT = "speed.weekly_summary"


@dataclass(frozen=True)
class Week:
    """The week a summary reports on, and the key its sending is recorded under."""

    key: str
    since: datetime  # Monday 00:00 of the week before, in the business time zone
    until: datetime  # this Monday 00:00

    @property
    def first_day(self) -> date:
        return self.since.date()


def due_week(now: datetime, zone: ZoneInfo) -> Week | None:
    """The week whose summary is due at `now`: the one before the current week, once Monday 09:00 has passed."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    if now < datetime.combine(monday, SENT_AT, zone):
        return None
    iso = monday.isocalendar()
    since = datetime.combine(monday - timedelta(days=7), time(0), zone)
    return Week(f"weekly:{iso.year}-W{iso.week:02d}", since, datetime.combine(monday, time(0), zone))


@dataclass(frozen=True)
class Slow:
    line: FirstContactLine
    waiting: Waiting


@dataclass(frozen=True)
class WeekFigures:
    count: int  # referrals that reached the team
    met: int  # first contacted within the target
    still_waiting: int  # not contacted yet
    closed: int  # closed without a first contact
    median: timedelta | None  # of the time to first contact, in business time
    slowest: list[Slow]


async def week_figures(store: Store, program: Program, week: Week, now: datetime) -> WeekFigures:
    """What the week's arrivals took to their first contact; those still waiting count with their wait so far."""
    lines = await store.first_contact_lines(week.since, week.until)
    timed = []
    for line in lines:
        start = line.team_since or line.created_at
        view = measure(line.status, start, line.claimed_at, line.contacted_at, now, program)
        if view is not None:  # None: closed without a contact, nothing to time
            timed.append(Slow(line, view))
    took = [slow.waiting.waited for slow in timed if slow.waiting.stage == "contacted"]
    met = sum(1 for slow in timed if slow.waiting.stage == "contacted" and not slow.waiting.missed)
    slowest = sorted(timed, key=lambda slow: (-slow.waiting.waited, slow.line.created_at))[:SLOWEST]
    median = timedelta(seconds=statistics.median(span.total_seconds() for span in took)) if took else None
    return WeekFigures(len(lines), met, len(timed) - len(took), len(lines) - len(timed), median, slowest)


def summary_text(screens: Texts, week: Week, figures: WeekFigures, locale: str) -> str:
    target = screens.program.sla.first_contact_target
    median = figures.median
    slowest: list[dict[str, Any]] = [
        {
            "friend": friend_or_someone(screens, locale, slow.line.friend_first_name, slow.line.friend_name),
            "rep": slow.line.assignee,
            "time": business_duration(screens, whole_minutes(slow.waiting.waited), locale),
            "waiting": slow.waiting.stage != "contacted",
        }
        for slow in figures.slowest
    ]
    return screens.team(
        "weekly_summary",
        locale,
        week_start=week.first_day.isoformat(),
        week_end=(week.first_day + timedelta(days=6)).isoformat(),
        median=business_duration(screens, whole_minutes(median), locale) if median is not None else None,
        target=business_duration(screens, target, locale),
        count=figures.count,
        met=figures.met,
        waiting=figures.still_waiting,
        closed=figures.closed,
        slowest=slowest,
    )


class WeeklySummary(Periodic):
    what = "weekly speed-to-lead summary"

    def __init__(self, units: Units, poll_seconds: float = 60.0) -> None:
        super().__init__(poll_seconds)
        self._units = units
        self._settled: str | None = None  # the week this instance saw sent (by it or another): no more to do

    async def sweep(self) -> int:
        """One pass; returns how many managers it wrote to."""
        units, alerts = self._units, self._units.alerts
        if alerts is None or not alerts.team.managers:
            return 0
        now = units.clock.now()
        week = due_week(now, ZoneInfo(units.program.business_hours.timezone))
        if week is None or week.key == self._settled:
            return 0
        figures = await week_figures(units.store, units.program, week, now)  # a scan: outside the write
        sent = 0
        async with units.once(week.key) as w:
            if w is not None and figures.count:  # a week nothing reached the team says nothing
                sent = await self._send(w, alerts, week, figures)
        self._settled = week.key
        return sent

    async def _send(self, w: Work, alerts: Alerts, week: Week, figures: WeekFigures) -> int:
        screens = self._units.screens
        about = [friend_of(slow.line.id) for slow in figures.slowest]  # the names it carries
        managers = sorted(alerts.team.managers)
        for manager in managers:
            text = summary_text(screens, week, figures, await reader_locale(w, screens, manager))
            await alerts.direct(w, manager, text, about=about)
        await w.tx.log_event(SENT_EVENT, w.now, subject=week.key, referrals=figures.count, met=figures.met)
        log.info("weekly summary %s sent to %d managers", week.key, len(managers))
        return len(managers)
