"""The program rules a business writes in `program.toml`, validated before anything starts."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError

LOCALES = ("en", "es", "fa")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(_Frozen):
    """A text in each locale; English is required and is the fallback."""

    en: str = Field(min_length=1, max_length=1000)
    es: str | None = Field(default=None, max_length=1000)
    fa: str | None = Field(default=None, max_length=1000)

    def get(self, locale: str) -> str:
        return getattr(self, locale, None) or self.en


class Incentives(_Frozen):
    friend: LocalizedText
    referrer: LocalizedText


class Attribution(_Frozen):
    model: Literal["first_touch", "last_touch"] = "first_touch"
    window_days: int = Field(default=30, ge=1, le=365)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


class Limits(_Frozen):
    velocity_per_hour: int = Field(default=10, ge=1, le=10_000)


class ProgramInfo(_Frozen):
    name: str = Field(min_length=1, max_length=100)
    default_locale: Literal["en", "es", "fa"] = "en"


class Program(_Frozen):
    program: ProgramInfo
    ideal_customer: LocalizedText
    incentives: Incentives
    attribution: Attribution = Attribution()
    limits: Limits = Limits()

    @field_validator("ideal_customer")
    @classmethod
    def _icp_not_blank(cls, value: LocalizedText) -> LocalizedText:
        if not value.en.strip():
            raise ValueError("describe who is a great fit")
        return value


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
        return Program.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        line = _line_of(source, [str(part) for part in first["loc"]])
        where = f" (line {line})" if line else ""
        raise ConfigError(f"program file {path}: field {field}{where}: {first['msg']}") from None


def _line_of(source: str, loc: list[str]) -> int | None:
    """Best-effort line of the innermost key that exists in the file, so the operator can jump to it."""
    lines = source.splitlines()
    for key in reversed(loc):
        pattern = re.compile(rf"^\s*(\[\s*)?([\w.]*\.)?{re.escape(key)}\s*(=|\])")
        for number, text in enumerate(lines, start=1):
            if pattern.match(text):
                return number
    return None
