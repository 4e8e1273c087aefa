"""Values as the webhooks and the CRM API send them in JSON."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def wire(value: datetime | Decimal | None) -> str | None:
    """A moment as ISO text to the microsecond (as the storage keeps it, so it matches the stored row's), an amount
    as exact decimal text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)
