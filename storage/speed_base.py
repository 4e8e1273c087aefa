"""The speed-to-lead reads of the Store interface (storage/speed_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.first_contact import FirstContactLine


class SpeedReads(Protocol):
    async def team_since(self, referral_ids: Sequence[str]) -> dict[str, datetime]:
        """When each referral reached the team, as its claim timers count it (arrival, or a manager's approval of
        a held one); referrals that never had timers are left out."""

    async def first_contact_lines(self, since: datetime, until: datetime) -> list[FirstContactLine]:
        """The referrals that arrived in [since, until) and reached the team (neither held nor rejected)."""
