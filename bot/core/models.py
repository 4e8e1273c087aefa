"""Domain values. Frozen, and free of any platform SDK type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal


class Segment(StrEnum):
    INNER_CIRCLE = "inner_circle"
    CUSTOMER = "customer"
    PAST_CUSTOMER = "past_customer"
    PARTNER = "partner"
    PROSPECT = "prospect"


class Status(StrEnum):
    HELD = "held"  # past the velocity limit: in the managers' review queue, unseen by the reps until approved
    NEW = "new"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    CONVERTED = "converted"
    LOST = "lost"
    REJECTED = "rejected"


class Source(StrEnum):
    LINK = "link"
    DIRECT = "direct"
    INLINE_SHARE = "inline_share"
    LANDING = "landing"  # a friend left their details on the referrer's landing page


@dataclass(frozen=True)
class ChatUser:
    """A person as a chat platform describes them, before we know anything else."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Customer:
    telegram_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language: str
    segment: str
    referral_code: str
    variant: str
    created_at: datetime
    updated_at: datetime
    referred_by: int | None = None
    phone: str | None = None
    contact_consent_at: datetime | None = None
    asks_opted_out: bool = False
    opted_out_at: datetime | None = None
    unreachable_at: datetime | None = None
    email: str | None = None  # the address an imported advocate was given by the business; lower case
    name_hidden: bool = False  # their landing page leaves their first name out

    @property
    def on_telegram(self) -> bool:
        """An advocate imported with only an e-mail address has an id below zero until they bind their account."""
        return self.telegram_id > 0

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class Referral:
    id: str
    referrer_id: int
    source: str
    channel: str
    status: str
    created_at: datetime
    updated_at: datetime
    friend_telegram_id: int | None = None
    friend_name: str | None = None
    friend_contact: str | None = None
    friend_contact_kind: str | None = None
    friend_note: str | None = None
    friend_consent_at: datetime | None = None
    flagged: bool = False
    flag_reason: str | None = None
    assignee: str | None = None
    variant: str | None = None
    deal_value: Decimal | None = None
    claimed_at: datetime | None = None
    contacted_at: datetime | None = None
    converted_at: datetime | None = None
    lost_at: datetime | None = None
    rejected_at: datetime | None = None
    lost_reason: str | None = None
    review: str | None = None  # a flagged referral's held rewards: approved | rejected by a manager
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    prompted_by: str | None = None  # the ask that prompted the referrer (its reason, such as campaign:<id>), if any
    credited_at: datetime | None = None  # when the credit moved to this referrer; None: since the referral was made
    friend_confirmed_at: datetime | None = None  # the friend's own word that they may be contacted
    friend_declined_at: datetime | None = None  # the friend said the referrer had no consent: nobody contacts them
    friend_phone: str | None = None  # a landing-page friend's number beside their e-mail address (friend_contact)
    friend_consent_text: str | None = None  # the consent a landing-page friend ticked, word for word
    friend_language: str | None = None  # the language a landing-page friend read the page in

    @property
    def credited_since(self) -> datetime:
        """The moment the referrer holding the credit got it: the attribution window runs from here."""
        return self.credited_at or self.created_at


@dataclass(frozen=True)
class Reward:
    id: str
    referral_id: str
    customer_id: int
    role: Literal["referrer", "friend"]
    description: str
    status: str  # held | pending | owed (no coupon code left) | issued | revoked
    created_at: datetime
    updated_at: datetime
    kind: str = "text"  # text | coupon | credit | manual
    earned_on: str = "conversion"  # arrival | conversion
    amount: Decimal | None = None
    currency: str | None = None
    pool: str | None = None
    code: str | None = None
    tier: int | None = None  # a tier bonus: the conversions that earned it
    issued_at: datetime | None = None
    fulfilled_at: datetime | None = None  # a manual reward a rep marked done
    fulfilled_by: str | None = None
    cost: Decimal | None = None  # what it costs the business, as the program file valued it when it was granted


@dataclass(frozen=True)
class Button:
    """A button in a message, described by what it does rather than by a platform type.

    kind: url | callback | copy | share_chat (pick a chat to share an inline card into) | contact
    """

    text: str
    kind: Literal["url", "callback", "copy", "share_chat", "contact"]
    value: str = ""


# An outbox payload key: once its row is sent (or given up on), storage keeps no chat id or text for it, so the
# message confirming an erasure leaves nothing behind that links back to the person. It leads the payload, so storage
# recognises it by the stored JSON's opening bytes.
FORGET_CHAT = "forget_chat"


@dataclass(frozen=True)
class Outgoing:
    """One message to one Telegram chat, rendered and ready to send."""

    chat_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: Literal["inline", "reply", "remove"] = "inline"
    photo_of: str | None = None  # when set, send a QR code of this text as a PNG with `text` as caption

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[vars(button) for button in row] for row in self.buttons],
            "keyboard": self.keyboard,
            "photo_of": self.photo_of,
        }

    @classmethod
    def from_payload(cls, chat_id: int, payload: dict[str, Any]) -> Outgoing:
        rows = tuple(tuple(Button(**button) for button in row) for row in payload["buttons"])
        return cls(chat_id, payload["text"], rows, payload["keyboard"], payload.get("photo_of"))


@dataclass(frozen=True)
class OutboxRow:
    id: str
    platform: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    dedupe_key: str = field(default="")
    reclaimed: bool = False  # an earlier sender's lease ran out: it may have delivered the row before it died
    lane: int = 3  # its priority, 1 (a reply to someone waiting) to 4 (bulk): bot/core/lanes.py


@dataclass(frozen=True)
class Timer:
    """A speed-to-lead timer: claim_nudge, escalate or contact_nudge."""

    id: str
    referral_id: str
    kind: str
    due_at: datetime
    status: str  # pending | fired | skipped | cancelled
    created_at: datetime
    lease_until: datetime | None = None
    fired_at: datetime | None = None


# How long a half-typed answer (a direct referral, a comment) waits for its next message.
DRAFT_TTL = timedelta(days=1)


@dataclass(frozen=True)
class Draft:
    """A direct referral a customer is typing in, one answer at a time."""

    telegram_id: int
    step: str
    data: dict[str, str]
    updated_at: datetime


@dataclass(frozen=True)
class NpsQuestion:
    id: str
    customer_id: int
    trigger: str  # command | conversion | days
    created_at: datetime
    variant: str | None = None
    score: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None
    alerted_at: datetime | None = None


@dataclass(frozen=True)
class Erased:
    """What an erasure changed, for the operator's report: counts only."""

    referrals_as_friend: int
    referrals_made: int
    messages_dropped: int
    messages_blanked: int
    events_cleaned: int
    friend_of: tuple[str, ...] = ()  # the referrals that named them as the friend, whose alerts need redrawing


@dataclass(frozen=True)
class ParkedUpdate:
    """A platform update whose handling failed, kept as it came so it can be handled again later."""

    update_id: int
    sender: int
    payload: str  # the update's JSON
    attempts: int


@dataclass(frozen=True)
class DueAsk:
    """An ask waiting for its moment ([[asks.triggers]]): whom, which trigger, and from when."""

    id: str  # derived from the trigger and the event, so an event seen twice schedules one ask
    customer_id: int
    trigger: str
    due_at: datetime
