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
        self._windows: dict[date, tuple[datetime, datetime] | None] = {}

    @classmethod
    def always(cls) -> BusinessHours:
        return cls("UTC", DAYS, time(0, 0), time(23, 59, 59, 999999))

    def _window(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """Today's open window (in UTC) around `moment`, if today is a working day."""
        day = moment.astimezone(self.zone).date()
        if day not in self._windows:  # every arrival asks about the same few days: worked out once for each
            if len(self._windows) > 64:
                self._windows.clear()
            self._windows[day] = self._window_on(day)
        return self._windows[day]

    def _window_on(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        opens = datetime.combine(day, self.start, self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, self.zone).astimezone(UTC)
        return opens, closes

    def _next_open(self, moment: datetime) -> tuple[datetime, datetime]:
        """The open window that contains `moment`, or the next one after it."""
        probe = moment
        for _ in range(8 * 2):  # at most a week of days ahead, with room for DST days
            window = self._window(probe)
            if window is not None and probe < window[1]:
                return max(probe, window[0]), window[1]
            local = probe.astimezone(self.zone)
            probe = datetime.combine(local.date() + timedelta(days=1), time(0), self.zone).astimezone(UTC)
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
