"""What the storage's report queries return: counts and lines for the figures managers and operators read.

Timestamps and deal values stay as stored (ISO text, decimal text): the reports print them as they are."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

# A stored duration whose median a report asks for: time to claim, time to contact (both from arrival), and from
# claim to contact.
Measure = Literal["claim", "contact", "claim_to_contact"]


@dataclass(frozen=True)
class Counts:
    shares: int = 0
    arrived: int = 0  # referrals that arrived in the period; the steps below count those of them that got there
    claimed: int = 0
    contacted: int = 0
    converted: int = 0
    breached: int = 0  # at least one SLA timer fired

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class NpsFigures:
    promoters: int
    passives: int
    detractors: int

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from −100 to 100; None before the first answer."""
        return 100 * (self.promoters - self.detractors) / self.answers if self.answers else None


@dataclass(frozen=True)
class AdvocateLine:
    """A leaderboard line: a referrer and what their referrals came to."""

    first_name: str
    last_name: str | None
    username: str | None
    segment: str
    referrals: int
    converted: int


@dataclass(frozen=True)
class PendingLine:
    """A referral nobody has contacted yet, with the names to show it by."""

    id: str
    status: str
    assignee: str | None
    created_at: str
    claimed_at: str | None
    friend_name: str | None  # as the referrer typed it (a direct referral)
    friend_first_name: str | None  # the friend's own, once they started the bot
    referrer_name: str


@dataclass(frozen=True)
class HeldLine:
    """A referral in the managers' review queue (held past the velocity limit), with what a manager decides on."""

    id: str
    created_at: str
    source: str
    flag_reason: str | None
    friend_name: str | None  # as the referrer typed it (a direct referral)
    friend_first_name: str | None  # the friend's own, once they started the bot
    referrer_name: str
    referrer_username: str | None

    @property
    def friend(self) -> str:
        return self.friend_first_name or self.friend_name or "a friend"


@dataclass(frozen=True)
class RepCounts:
    """A rep's referrals of a period, and how many of them have each duration (for the medians)."""

    assignee: str
    claimed: int
    converted: int
    timed_claims: int
    timed_contacts: int


@dataclass(frozen=True)
class ExportLine:
    """One audit event of a referral, with the referral as it is now: a line of the CSV export."""

    event_at: str
    kind: str
    actor: str | None
    data: str  # the event's JSON, as stored
    id: str
    created_at: str
    referrer_id: int
    referrer_name: str
    friend_telegram_id: int | None
    friend: str | None
    source: str
    channel: str
    status: str
    assignee: str | None
    deal_value: str | None  # decimal text, as stored
    referrer_email: str | None = None  # an advocate imported by e-mail (on Telegram or not yet)
    friend_contact_kind: str | None = None
    friend_contact: str | None = None
    friend_phone: str | None = None  # a landing-page friend's number beside their address
    friend_consent_text: str | None = None  # what a landing-page friend ticked, word for word
    friend_consent_at: str | None = None


@dataclass(frozen=True)
class SurveyAnswer:
    answer: str
    created_at: str
    first_name: str
    last_name: str | None
    username: str | None


@dataclass(frozen=True)
class NpsComment:
    score: int | None
    comment: str
    created_at: str
    first_name: str
    last_name: str | None
    username: str | None


@dataclass(frozen=True)
class OutboxCount:
    platform: str
    status: str
    n: int


@dataclass(frozen=True)
class ReferralSummary:
    """A referral between two customers, by name: what the demo shows at its end."""

    source: str
    status: str
    deal_value: str | None
    referrer: str
    friend: str
    friend_contact: str | None


@dataclass(frozen=True)
class RewardSummary:
    name: str
    description: str
    status: str


@dataclass(frozen=True)
class SourceCounts:
    """A share channel and prompting ask's counts over a period (storage/source_sql.py). `channel` is '' on the
    asks' own line; `prompted_by` is the ask log's reason (campaign:<id>, promoter, ...), '' when nobody asked.
    Money is in cents of the program's currency."""

    channel: str
    prompted_by: str
    asked: int = 0
    arrived: int = 0
    converted: int = 0
    revenue_cents: int = 0
    reward_cents: int = 0  # of the rewards issued for these referrals, as the program file valued them
    unpriced_rewards: int = 0  # issued rewards the program file gave no value

    def __add__(self, other: SourceCounts) -> SourceCounts:
        counted = (f.name for f in fields(self) if f.name not in ("channel", "prompted_by"))
        return SourceCounts(self.channel, self.prompted_by, *(getattr(self, n) + getattr(other, n) for n in counted))


@dataclass(frozen=True)
class DayCounts:
    """One arrival day's referrals (UTC, as stored: YYYY-MM-DD): how many arrived, how many of them converted, and
    their deal values in cents (storage/source_sql.py)."""

    day: str
    arrived: int
    converted: int
    revenue_cents: int


@dataclass(frozen=True)
class CampaignLine:
    """An ask campaign as its event recorded it: the segment asked, and when it ended (as stored)."""

    id: str
    segment: str
    created_at: str
