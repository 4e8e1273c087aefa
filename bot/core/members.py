"""The sales team as the bot knows them (migration 0023): one person's language and whether they are away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    updated_at: datetime
    locale: str | None = None  # en, es or fa from Slack's users.info; None: not known, the team's locale applies
    locale_checked_at: datetime | None = None
    away_since: datetime | None = None  # `/referrals away`; routing skips them until `/referrals back`

    @property
    def away(self) -> bool:
        return self.away_since is not None
