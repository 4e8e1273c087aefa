"""Which language a member of the team reads: their own, as Slack gives it, else the team's (TEAM_LOCALE).

Channel posts are in the team's language, since the whole team reads them. A DM or an ephemeral answer has one
reader, and is written in theirs.
"""

from __future__ import annotations

from bot.core.unit_of_work import Work
from bot.program.texts import Texts


async def reader_locale(w: Work, screens: Texts, user_id: str) -> str:
    """The language one person of the team reads, for a DM to them."""
    member = await w.tx.team_member(user_id)
    return member.locale if member is not None and member.locale else screens.team_locale
