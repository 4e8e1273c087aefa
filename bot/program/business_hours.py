"""Business hours: speed-to-lead timers count only the time the team is at work."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHours:
    def __init__(self, timezone: str, days: tuple[str, ...], start: time, end: time) -> None:
        self.zone = ZoneInfo(timezone)
        self.days = frozenset(DAYS.index(day) for day in days)
        self.start = start
        self.end = end
        self._days: dict[int, date] = {}
        self._windows: dict[date, tuple[datetime, datetime] | None] = {}

    @classmethod
    def always(cls) -> BusinessHours:
        return cls("UTC", DAYS, time(0, 0), time(23, 59, 59, 999999))

    def _day(self, moment: datetime) -> date:
        """The local date of `moment`. Every zone's offset is a whole number of quarter hours, so the date is the
        same across a quarter hour: worked out once for each, as every arrival asks about the same few."""
        quarter = int(moment.timestamp()) // 900
        day = self._days.get(quarter)
        if day is None:
            if len(self._days) > 256:
                self._days.clear()
            day = self._days[quarter] = moment.astimezone(self.zone).date()
        return day

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """That day's open window in UTC, if it is a working day."""
        if day not in self._windows:
            if len(self._windows) > 64:
                self._windows.clear()
            opens = datetime.combine(day, self.start, self.zone).astimezone(UTC)
            closes = datetime.combine(day, self.end, self.zone).astimezone(UTC)
            self._windows[day] = (opens, closes) if day.weekday() in self.days else None
        return self._windows[day]

    def _next_open(self, moment: datetime) -> tuple[datetime, datetime]:
        """The open window that contains `moment`, or the next one after it."""
        day = self._day(moment)
        for _ in range(8):  # a week of days ahead holds every working day
            window = self._window(day)
            if window is not None and moment < window[1]:
                return max(moment, window[0]), window[1]
            day += timedelta(days=1)
        raise ValueError("business hours have no open time")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`; the clock stops outside hours."""
        cursor, remaining = start.astimezone(UTC), duration
        while True:
            cursor, closes = self._next_open(cursor)
            if cursor + remaining <= closes:
                return cursor + remaining
            remaining -= closes - cursor
            cursor = closes

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments (for 'waited N minutes' in nudges)."""
        total, cursor = timedelta(0), start.astimezone(UTC)
        while cursor < end:
            cursor, closes = self._next_open(cursor)
            if cursor >= end:
                break
            total += min(closes, end) - cursor
            cursor = closes
        return total
