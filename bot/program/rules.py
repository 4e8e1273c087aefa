"""The program rules a business writes in `program.toml`, validated before anything starts."""

from __future__ import annotations

import re
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.errors import ConfigError
from bot.program.ab_copy import choose_variant
from bot.program.business_hours import BusinessHours
from bot.program.economics import Economics
from bot.program.goals import Goals
from bot.program.kit import PROGRAM_DIR, Kit
from bot.program.routing import Routing
from bot.program.sections import (
    DEFAULT_VARIANTS,
    Asks,
    Feedback,
    Incentives,
    LocalizedText,
    Segment,
    Variant,
)

LOCALES = ("en", "es", "fa")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Attribution(_Frozen):
    model: Literal["first_touch", "last_touch"] = "first_touch"
    window_days: int = Field(default=30, ge=1, le=365)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


class Limits(_Frozen):
    velocity_per_hour: int = Field(default=10, ge=1, le=10_000)


class Sla(_Frozen):
    """Speed to lead: minutes of business time before each nudge."""

    claim_within_minutes: int = Field(default=5, ge=1, le=7 * 24 * 60)
    escalate_after_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    contact_within_minutes: int = Field(default=60, ge=1, le=30 * 24 * 60)
    # What the weekly summary and a closed card measure first contact against; none: claim plus contact time.
    first_contact_target_minutes: int | None = Field(default=None, ge=1, le=37 * 24 * 60)

    @property
    def first_contact_target(self) -> int:
        return self.first_contact_target_minutes or self.claim_within_minutes + self.contact_within_minutes

    @model_validator(mode="after")
    def _escalate_after_nudge(self) -> Sla:
        if self.escalate_after_minutes <= self.claim_within_minutes:
            raise ValueError("escalate_after_minutes must be longer than claim_within_minutes")
        return self


class Hours(_Frozen):
    timezone: str = "UTC"
    days: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    start: time = time(0, 0)
    end: time = time(23, 59, 59)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use a name like Europe/Madrid)") from None
        return value

    @model_validator(mode="after")
    def _opens_before_closing(self) -> Hours:
        if self.start >= self.end or not self.days:
            raise ValueError("business hours need at least one day, and start before end")
        return self

    def calendar(self) -> BusinessHours:
        return BusinessHours(self.timezone, self.days, self.start, self.end)


class ProgramInfo(_Frozen):
    name: str = Field(min_length=1, max_length=100)
    default_locale: Literal["en", "es", "fa"] = "en"
    # The ISO 4217 code deal values are in, shown beside every amount the team reads; none when empty.
    currency: str = Field(default="", pattern=r"^([A-Z]{3})?$")


class Segments(_Frozen):
    """Which segment people join in when nobody imported them: those who start the bot themselves, and friends."""

    default: Segment = "customer"
    referred: Segment = "prospect"


class Program(_Frozen):
    program: ProgramInfo
    ideal_customer: LocalizedText
    incentives: Incentives
    segments: Segments = Segments()
    attribution: Attribution = Attribution()
    limits: Limits = Limits()
    sla: Sla = Sla()
    routing: Routing = Routing()  # who is offered each referral; `claim`: the channel's Claim button
    business_hours: Hours = Hours()
    asks: Asks = Asks()
    feedback: Feedback = Feedback()
    variants: tuple[Variant, ...] = DEFAULT_VARIANTS
    economics: Economics | None = None  # no break-even in the stats without it
    goals: Goals = ()
    kit: Kit = ()

    @field_validator("variants")
    @classmethod
    def _variants_usable(cls, value: tuple[Variant, ...]) -> tuple[Variant, ...]:
        names = [variant.name for variant in value]
        if not value or len(set(names)) != len(names):
            raise ValueError("variants need distinct names, and at least one")
        if not any(variant.weight for variant in value):
            raise ValueError("at least one variant needs a weight above 0")
        return value

    @field_validator("ideal_customer")
    @classmethod
    def _icp_not_blank(cls, value: LocalizedText) -> LocalizedText:
        if not value.en.strip():
            raise ValueError("describe who is a great fit")
        return value

    def variant_for(self, telegram_id: int) -> str:
        """The A/B variant a new customer gets, kept for good whatever changes later."""
        return choose_variant(telegram_id, self.variants)


def load_program(path: Path) -> Program:
    """Read and validate the program file; any problem becomes one ConfigError naming field and line."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"program file {path}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"program file {path}: not valid TOML: {exc}") from None
    try:
        # Files the program names (the kit's photos and documents) are found beside it, wherever it is run from.
        return Program.model_validate(data, context={PROGRAM_DIR: path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        line = _line_of(source, [str(part) for part in first["loc"]])
        where = f" (line {line})" if line else ""
        raise ConfigError(f"program file {path}: field {field}{where}: {first['msg']}") from None


def _line_of(source: str, loc: list[str]) -> int | None:
    """Best-effort line of the innermost key that exists in the file, so the operator can jump to it."""
    lines = source.splitlines()
    first, last = _item_lines(lines, loc)
    for key in reversed(loc):
        pattern = re.compile(rf"^\s*(\[\[?\s*)?([\w.]*\.)?{re.escape(key)}\s*(=|\])")
        for number in range(first, last):
            if pattern.match(lines[number]):
                return number + 1
    return None


def _item_lines(lines: list[str], loc: list[str]) -> tuple[int, int]:
    """The lines of the `[[table]]` item the error is in (goals.1: the second `[[goals]]`), so that a key every
    item has is found in the right one; the whole file when the error is in no such item."""
    for at in range(len(loc) - 1, 0, -1):
        if not loc[at].isdigit():
            continue
        header = re.compile(rf"^\s*\[\[\s*{re.escape('.'.join(loc[:at]))}\s*\]\]")
        starts = [number for number, text in enumerate(lines) if header.match(text)]
        if int(loc[at]) < len(starts):
            first = starts[int(loc[at])]
            ends = (number for number in range(first + 1, len(lines)) if lines[number].lstrip().startswith("["))
            return first, next(ends, len(lines))
    return 0, len(lines)
