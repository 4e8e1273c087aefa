"""Business time, against a minute-by-minute count: nudges fall due after exactly the team's working minutes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.program.business_hours import BusinessHours

HOURS = BusinessHours("Europe/Madrid", ("mon", "tue", "wed", "thu", "fri"), time(9, 0), time(18, 0))
YEAR = datetime(2026, 1, 1, tzinfo=UTC)  # both of the year's clock changes are in it


def counted_minute_by_minute(start: datetime, minutes: int) -> datetime:
    """Walk the clock a minute at a time, counting the minutes that begin inside working hours."""
    cursor = start
    while minutes:
        local = cursor.astimezone(HOURS.zone)
        if local.weekday() < 5 and time(9, 0) <= local.time() < time(18, 0):
            minutes -= 1
        cursor += timedelta(minutes=1)
    return cursor


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 365 * 24 * 60 - 1), st.integers(1, 2 * 9 * 60))
def test_a_timer_falls_due_after_exactly_its_working_minutes(minute_of_year: int, minutes: int) -> None:
    start = YEAR + timedelta(minutes=minute_of_year)
    due = HOURS.add(start, timedelta(minutes=minutes))
    assert due == counted_minute_by_minute(start, minutes)
    assert HOURS.elapsed(start, due) == timedelta(minutes=minutes)


def test_friday_evening_waits_for_monday_morning() -> None:
    friday_evening = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 in Madrid
    assert HOURS.add(friday_evening, timedelta(minutes=15)) == datetime(2026, 12, 7, 8, 15, tzinfo=UTC)
