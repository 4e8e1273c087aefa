"""Mapping between domain dataclasses and database rows, shared by every backend."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def to_db(value: Any) -> Any:
    if value is None or type(value) is int:  # most columns of most rows: nothing to convert
        return value
    if isinstance(value, str):
        if value.isascii():  # most text, and it cannot hold a surrogate: no search needed
            return value
        return _LONE_SURROGATE.sub("\ufffd", value)  # never storable; the rest of the text is kept
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return to_db(json.dumps(value, ensure_ascii=False))
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds its tuple afresh on every call; a row is written many times a second
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def to_row(obj: Any) -> dict[str, Any]:
    return {name: to_db(getattr(obj, name)) for name in _field_names(type(obj))}


def from_row(cls: type[T], row: dict[str, Any]) -> T:
    """Build a dataclass from a row, converting by each field's declared type."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in row:
            continue
        raw = row[field.name]
        kind = str(field.type)
        if raw is None:
            values[field.name] = None
        elif "datetime" in kind:
            values[field.name] = datetime.fromisoformat(raw)
        elif kind.startswith("bool"):
            values[field.name] = bool(raw)
        elif "Decimal" in kind:
            values[field.name] = Decimal(raw)
        elif kind.startswith("dict"):
            values[field.name] = json.loads(raw)
        else:
            values[field.name] = raw
    return cls(**values)


def checked_columns(cls: type[Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Only a dataclass's own field names may become column names; values stay parameters."""
    allowed = {field.name for field in dataclasses.fields(cls)}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"unknown columns: {sorted(unknown)}")
    return {name: to_db(value) for name, value in changes.items()}
