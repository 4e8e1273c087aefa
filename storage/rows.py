"""Mapping between domain dataclasses and database rows, shared by every backend."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# Moments already written as text: a unit of work stamps most of its rows with the same few. Only UTC ones, as
# equal moments in other zones are written with other offsets.
_STAMPS: dict[datetime, str] = {}


def _stamp(value: datetime) -> str:
    if value.tzinfo is not UTC:
        return value.isoformat(timespec="microseconds")
    text = _STAMPS.get(value)
    if text is None:
        if len(_STAMPS) >= 1024:
            _STAMPS.clear()
        text = _STAMPS[value] = value.isoformat(timespec="microseconds")
    return text


def to_db(value: Any) -> Any:
    if value is None or type(value) is int:  # most columns of most rows: nothing to convert
        return value
    if isinstance(value, str):
        if value.isascii():  # most text, and it cannot hold a surrogate: no search needed
            return value
        return _LONE_SURROGATE.sub("\ufffd", value)  # never storable; the rest of the text is kept
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return to_db(json_text(value))
    return value


def json_text(value: Any) -> str:
    """Compact JSON as stored, by orjson (a tenth of the standard library's time; an arrival writes five). It refuses
    lone surrogates and integers past 64 bits, which the standard library writes the same way."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds its tuple afresh on every call; a row is written many times a second
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def to_row(obj: Any) -> dict[str, Any]:
    return {name: to_db(getattr(obj, name)) for name in _field_names(type(obj))}


def _reader(kind: str) -> Callable[[Any], Any] | None:
    """How a column's stored value becomes the field's declared type (None: as it is)."""
    if "datetime" in kind:
        return datetime.fromisoformat
    if kind.startswith("bool"):
        return bool
    if "Decimal" in kind:
        return Decimal
    if kind.startswith("dict"):
        return orjson.loads
    return None


_READERS: dict[type, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def from_row(cls: type[T], row: dict[str, Any]) -> T:
    """Build a dataclass from a row, converting by each field's declared type."""
    readers = _READERS.get(cls)
    if readers is None:  # the declared types are read once per class, not once per row
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        readers = _READERS[cls] = tuple((field.name, _reader(str(field.type))) for field in fields)
    values: dict[str, Any] = {}
    for name, read in readers:
        if name in row:
            raw = row[name]
            values[name] = raw if raw is None or read is None else read(raw)
    return cls(**values)


def checked_columns(cls: type[Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Only a dataclass's own field names may become column names; values stay parameters."""
    allowed = {field.name for field in dataclasses.fields(cls)}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"unknown columns: {sorted(unknown)}")
    return {name: to_db(value) for name, value in changes.items()}
