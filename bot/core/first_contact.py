"""What the speed-to-lead figures read about a referral: when the team had it and when it was first contacted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FirstContactLine:
    """A referral that reached the team, with the names to show it by."""

    id: str
    status: str
    assignee: str | None
    created_at: datetime
    team_since: datetime | None  # its claim timers' start (arrival, or a manager's approval); None: no timers
    claimed_at: datetime | None
    contacted_at: datetime | None
    friend_name: str | None  # as the referrer typed it
    friend_first_name: str | None  # the friend's own, once they started the bot
    referrer_name: str
