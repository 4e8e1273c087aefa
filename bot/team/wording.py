"""The few words of the team side that are put together from figures: how long a referral has waited, a median
time, a friend without a name. Their words are labels (messages/<locale>/labels.toml), so they read in the
language of the text around them: the team's for a channel post, the reader's for an answer to one person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.program.texts import Texts


def duration(screens: Texts, minutes: int, locale: str | None = None) -> str:
    """A wait as a person says it: 5 min, 3 h 20 min, 2 d 4 h."""
    minutes = max(0, minutes)
    days, hours, rest = minutes // 1440, minutes % 1440 // 60, minutes % 60
    count = _counter(screens, locale)
    if days:
        return screens.team_label("slack_days_hours", locale, days=count(days), hours=count(hours))
    if hours:
        return screens.team_label("slack_hours_minutes", locale, hours=count(hours), minutes=count(rest))
    return screens.team_label("slack_minutes", locale, minutes=count(rest))


def business_duration(screens: Texts, minutes: int, locale: str | None = None) -> str:
    """A wait counted in business hours: 41 h 5 min, never days, since a business day is not 24 of those hours."""
    minutes, count = max(0, minutes), _counter(screens, locale)
    if minutes >= 60:
        hours, rest = divmod(minutes, 60)
        return screens.team_label("slack_hours_minutes", locale, hours=count(hours), minutes=count(rest))
    return screens.team_label("slack_minutes", locale, minutes=count(minutes))


def waited(screens: Texts, created_at: str, now: datetime, locale: str | None = None) -> str:
    """How long since `created_at` (as stored, ISO), in `duration`'s words."""
    return duration(screens, int((now - datetime.fromisoformat(created_at)).total_seconds() // 60), locale)


def median_time(screens: Texts, locale: str | None = None) -> Callable[[float | None], str]:
    """The templates' `minutes(...)`: a median in minutes, in hours past two hours (2.5 h), or "n/a" without one."""

    def minutes(value: float | None) -> str:
        if value is None:
            return screens.team_label("slack_no_figure", locale)
        if value < 120:
            return screens.team_label("slack_minutes", locale, minutes=screens.figure(value, locale, group=False))
        return screens.team_label("slack_hours", locale, hours=screens.figure(value / 60, locale, 1, group=False))

    return minutes


def _counter(screens: Texts, locale: str | None) -> Callable[[int], str]:
    """A count of days, hours or minutes in the locale's digits ("۳ ساعت"), ungrouped as a clock's are: 1000 h."""
    return lambda value: screens.figure(value, locale, group=False)


def friend_or_someone(screens: Texts, locale: str | None, *names: str | None) -> str:
    """The first name there is, else "a friend" in the reader's words (a friend who asked to be forgotten)."""
    return next((name for name in names if name), None) or screens.team_label("slack_a_friend", locale)
