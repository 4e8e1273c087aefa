"""The sales team's part of the Transaction interface (storage/team_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.members import TeamMember


class TeamTransaction(Protocol):
    async def team_member(self, user_id: str) -> TeamMember | None: ...
    async def team_members(self, user_ids: Sequence[str]) -> dict[str, TeamMember]:
        """The rows of those of `user_ids` the bot has seen, by user id."""

    async def set_member_locale(self, user_id: str, locale: str | None, at: datetime) -> None:
        """Keep a person's language as Slack gives it (None: not known), with when it was checked."""

    async def set_member_away(self, user_id: str, away: bool, at: datetime) -> bool:
        """Mark a rep away (or back); False when they already were."""
