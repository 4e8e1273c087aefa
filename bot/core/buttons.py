"""What a Telegram callback button carries, as typed values, and the one codec that packs and parses them.

The wire format is frozen: messages already in customers' chats keep their buttons across upgrades, so a
press of a button sent by an older version must still parse. Change a format only by parsing the old one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from bot.core.models import Button
from bot.core.validation import parse_count

MAX_BYTES = 64  # Telegram refuses a button whose callback data is longer, and with it the whole message
NPS_SCORES = range(0, 11)

DirectChoiceValue = Literal["skip", "yes", "no"]
ForgetChoiceValue = Literal["yes", "no"]
FriendConsentValue = Literal["yes", "no"]


class ButtonDataError(ValueError):
    """Callback data that cannot be sent: too long for Telegram, or a value the format cannot carry."""


@dataclass(frozen=True)
class ShowQr:
    """The welcome's QR code button."""


@dataclass(frozen=True)
class ShowWebQr:
    """The welcome's QR code of the customer's web link (the landing page), for friends without Telegram."""


@dataclass(frozen=True)
class MyReferrals:
    """The welcome's "my referrals" button."""


@dataclass(frozen=True)
class ShowKit:
    """The welcome's "kit" button: lists the referral kit, like /kit."""


@dataclass(frozen=True)
class ReferFriend:
    """The welcome's "refer a friend" button: starts the direct referral conversation."""


@dataclass(frozen=True)
class ResumeAsks:
    """Undo /stop."""


@dataclass(frozen=True)
class AskLater:
    """An ask's "not now"."""


@dataclass(frozen=True)
class AskStop:
    """An ask's "stop asking me"."""


@dataclass(frozen=True)
class Language:
    code: str


@dataclass(frozen=True)
class NpsScore:
    question_id: str
    score: int


@dataclass(frozen=True)
class NpsSkip:
    """Skip the comment after a score."""


@dataclass(frozen=True)
class SurveySkip:
    pass


@dataclass(frozen=True)
class DirectChoice:
    """A step of the direct referral: skip the note, or the friend agreed (yes) or did not (no)."""

    choice: DirectChoiceValue


@dataclass(frozen=True)
class ForgetChoice:
    """Confirm (yes) or cancel (no) /forget."""

    choice: ForgetChoiceValue


@dataclass(frozen=True)
class FriendConsent:
    """A friend referred directly answers for themselves: they agree to be contacted (yes), or never did (no)."""

    choice: FriendConsentValue


ButtonData = (
    ShowQr
    | ShowWebQr
    | MyReferrals
    | ShowKit
    | ReferFriend
    | ResumeAsks
    | AskLater
    | AskStop
    | Language
    | NpsScore
    | NpsSkip
    | SurveySkip
    | DirectChoice
    | ForgetChoice
    | FriendConsent
)

_FIXED: dict[str, ButtonData] = {
    "qr": ShowQr(),
    "qrw": ShowWebQr(),
    "mine": MyReferrals(),
    "kit": ShowKit(),
    "refer": ReferFriend(),
    "resume": ResumeAsks(),
    "ask:later": AskLater(),
    "ask:stop": AskStop(),
    "nps:skip": NpsSkip(),
    "survey:skip": SurveySkip(),
    **{f"d:{choice}": DirectChoice(choice) for choice in get_args(DirectChoiceValue)},
    **{f"forget:{choice}": ForgetChoice(choice) for choice in get_args(ForgetChoiceValue)},
    **{f"fc:{choice}": FriendConsent(choice) for choice in get_args(FriendConsentValue)},
}
_FIXED_TEXT = {data: text for text, data in _FIXED.items()}


def _text_of(data: ButtonData) -> str:
    if isinstance(data, Language):
        _check_field("language code", data.code)
        return f"lang:{data.code}"
    if isinstance(data, NpsScore):
        _check_field("question id", data.question_id)
        if data.score not in NPS_SCORES or isinstance(data.score, bool):
            raise ButtonDataError(f"an NPS score is 0 to 10, not {data.score!r}")
        return f"nps:{data.question_id}:{data.score}"
    return _FIXED_TEXT[data]


def _check_field(name: str, value: str) -> None:
    # A colon would make the text ambiguous to parse, and an empty field reads as a different button.
    if not value or ":" in value:
        raise ButtonDataError(f"a {name} must be non-empty and free of ':', not {value!r}")


def pack(data: ButtonData) -> str:
    """The callback data for a button; raises ButtonDataError rather than build a message Telegram would refuse."""
    text = _text_of(data)
    size = len(text.encode())
    if size > MAX_BYTES:
        raise ButtonDataError(f"callback data {text!r} is {size} bytes; Telegram allows at most {MAX_BYTES}")
    return text


def parse(text: str) -> ButtonData | None:
    """The button a press came from; None for data this version never sends (malformed, or forged)."""
    if text in _FIXED:
        return _FIXED[text]
    kind, _, rest = text.partition(":")
    if kind == "lang" and rest and ":" not in rest:
        return Language(rest)
    if kind == "nps":
        question_id, _, score = rest.rpartition(":")
        value = parse_count(score, min(NPS_SCORES), max(NPS_SCORES), ascii_only=True)
        return NpsScore(question_id, value) if question_id and ":" not in question_id and value is not None else None
    return None


def callback_button(label: str, data: ButtonData) -> Button:
    return Button(label, "callback", pack(data))
