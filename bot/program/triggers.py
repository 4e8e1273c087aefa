"""`[[asks.triggers]]`: asks that wait for the right moment (playbook step 7) instead of a manager's campaign.

A trigger fires after one of the customer's referrals converts, after a purchase of their own that the CRM reports,
or on a schedule. Every ask it makes still goes through `[asks]`'s rules: segments, cooldown, cap, quiet hours,
"Stop asking me" and the NPS gate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as TimeOfDay
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Moment = Literal["conversion", "purchase", "schedule"]
# The keys each kind of trigger takes besides `name` and `after`; any other is a mistake worth naming.
KEYS: dict[Moment, tuple[str, ...]] = {
    "conversion": ("days",),
    "purchase": ("days", "min_value"),
    "schedule": ("every", "day", "weekday", "time"),
}
DEFAULT_TIME = TimeOfDay(10, 0)


class AskTrigger(BaseModel):
    """One moment to ask at; `name` is what stats and the dry run call the asks it makes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    after: Moment
    days: int | None = Field(default=None, ge=0, le=365)  # conversion, purchase: days later (0: at once)
    min_value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)  # purchase
    every: Literal["week", "month"] | None = None  # schedule
    day: int | None = Field(default=None, ge=1, le=28)  # schedule, every month: the day of the month
    weekday: Weekday | None = None  # schedule, every week
    time: TimeOfDay | None = None  # schedule: in the business_hours time zone (default 10:00)

    @field_validator("days", "min_value", "every", "day", "weekday", "time")
    @classmethod
    def _fits_the_moment(cls, value: object, info: ValidationInfo) -> object:
        """A key given for another kind of trigger is refused at its own line: a typo must not change when people
        are asked. (`after` and `every` are validated first, being declared first.)"""
        key, after, every = info.field_name, info.data.get("after"), info.data.get("every")
        if after is not None and key not in KEYS[after]:
            takes = ", ".join(f"`{k}`" for k in KEYS[after])
            raise ValueError(f'`{key}` does not apply to after = "{after}" (it takes {takes})')
        if (key, every) in (("weekday", "month"), ("day", "week")):
            right = "day" if every == "month" else "weekday"
            raise ValueError(f'every = "{every}" takes `{right}`, not `{key}`')
        return value

    @model_validator(mode="after")
    def _schedule_is_complete(self) -> AskTrigger:
        if self.after == "schedule" and self.every is None:
            raise ValueError('a schedule needs `every`: "week" (with `weekday`) or "month" (with `day`)')
        return self

    @property
    def delay(self) -> timedelta:
        return timedelta(days=self.days or 0)

    @property
    def at(self) -> TimeOfDay:
        return self.time or DEFAULT_TIME

    def fits(self, value: Decimal | None) -> bool:
        """Whether a purchase of this value makes this trigger ask (a minimum needs a value to compare)."""
        return self.min_value is None or (value is not None and value >= self.min_value)

    def last_occurrence(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The schedule's latest moment at or before `now`."""
        return max(moment for moment in self._around(now, zone) if moment <= now)

    def next_occurrence(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The schedule's first moment after `now`."""
        return min(moment for moment in self._around(now, zone) if moment > now)

    def _around(self, now: datetime, zone: ZoneInfo) -> list[datetime]:
        """The schedule's moments in the period before `now`'s, in it and after it (at least one each side)."""
        today = now.astimezone(zone).date()
        if self.every == "week":
            monday = today - timedelta(days=today.weekday())
            offset = WEEKDAYS.index(self.weekday or "mon")
            days = [monday + timedelta(days=offset + 7 * step) for step in (-1, 0, 1)]
        else:
            days = [_month_day(today.year, today.month + step, self.day or 1) for step in (-1, 0, 1)]
        return [datetime.combine(day, self.at, zone) for day in days]

    def describe(self) -> str:
        """The trigger as an operator reads it in the dry run."""
        if self.after == "schedule":
            when = f"on {self.weekday or 'mon'}" if self.every == "week" else f"on day {self.day or 1}"
            return f"every {self.every} {when} at {self.at:%H:%M}"
        later = f"{self.days} day{'' if self.days == 1 else 's'} after" if self.days else "right after"
        if self.after == "conversion":
            return f"{later} a referral of theirs converts"
        return f"{later} a purchase" + (f" of at least {self.min_value}" if self.min_value is not None else "")


def _month_day(year: int, month: int, day: int) -> date:
    """`month` may run one past either end of the year."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, day)


def check_triggers(
    triggers: tuple[AskTrigger, ...], quiet: Callable[[TimeOfDay], bool] | None
) -> tuple[AskTrigger, ...]:
    """Names are unique (stats count asks by them), and no schedule asks within quiet hours."""
    names = [trigger.name for trigger in triggers]
    for trigger in triggers:
        if names.count(trigger.name) > 1:
            raise ValueError(f"two triggers are named {trigger.name!r}: give each its own name")
        if trigger.after == "schedule" and quiet is not None and quiet(trigger.at):
            raise ValueError(
                f"trigger {trigger.name!r} asks at {trigger.at:%H:%M}, within [asks] quiet_hours: "
                "choose a `time` outside them"
            )
    return triggers
