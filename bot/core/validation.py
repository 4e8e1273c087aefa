"""What people type, checked before anything is stored. Each check returns the clean value or an
error key that names the template explaining the problem to the person."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

NAME_MAX = 64
# Enough for any id or count we keep (a BIGINT has 19 digits), and far below the 4,300 digits past which
# int() refuses a string.
COUNT_DIGITS_MAX = 19
NOTE_MAX = 500
# Joiners that Persian words and emoji need; every other invisible format character is refused.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}
_USERNAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Invalid:
    reason: str  # the template that explains it: bad_name_length, bad_name_chars, ...


@dataclass(frozen=True)
class Contact:
    kind: str  # phone | email | telegram
    value: str


def storable(text: str) -> str:
    """Text as a platform sent it, minus what no database can store (lone surrogates)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def profile_text(value: str | None, limit: int = 256) -> str | None:
    """A name from a platform profile: kept as given, but never a lone surrogate (not storable)
    and never longer than the platform allows."""
    if value is None:
        return None
    return _LONE_SURROGATE.sub("\ufffd", value)[:limit]


def _has_hidden_characters(text: str) -> bool:
    if _LONE_SURROGATE.search(text):
        return True
    return any(unicodedata.category(char) in {"Cc", "Cf", "Co", "Cn"} and char not in _ALLOWED_FORMAT for char in text)


def shown_text(text: str) -> str:
    """Text as typed, or "" when nothing in it would show (only spaces and invisible marks): a reason of nothing
    is no reason, rather than a colon followed by blank space."""
    stripped = text.strip()
    return stripped if any(unicodedata.category(char)[0] not in "CZ" for char in stripped) else ""


def parse_count(text: str, low: int, high: int, ascii_only: bool = False) -> int | None:
    """A whole number a person typed, from `low` to `high`; None for anything else. Decimal digits of any script
    count (a Persian manager types ۷), as int() reads them; str.isdigit would also pass "²", which int() refuses.
    `ascii_only` is for what a machine wrote, such as button data or a token."""
    if not 0 < len(text) <= COUNT_DIGITS_MAX or not text.isdecimal() or (ascii_only and not text.isascii()):
        return None
    count = int(text)
    return count if low <= count <= high else None


def check_name(text: str) -> str | Invalid:
    name = " ".join(text.split())
    if not name or len(name) > NAME_MAX:
        return Invalid("bad_name_length")
    if _has_hidden_characters(" ".join(text.split())):  # tabs and newlines are just spacing
        return Invalid("bad_name_chars")
    if not any(unicodedata.category(char).startswith("L") for char in name):
        return Invalid("bad_name_chars")
    return name


def check_contact(text: str) -> Contact | Invalid:
    raw = text.strip()
    if len(raw) > 254 or _has_hidden_characters(raw):
        return Invalid("bad_contact")
    if _USERNAME.match(raw):
        return Contact("telegram", raw.lower())  # Telegram usernames are case-blind: @Bea and @bea are one person
    if "@" in raw:
        try:
            email = validate_email(raw, check_deliverability=False)
        except EmailNotValidError:
            return Invalid("bad_contact")
        return Contact("email", email.normalized.lower())  # compared case-blind to catch repeats
    return _phone(raw)


def _phone(raw: str) -> Contact | Invalid:
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return Invalid("bad_contact")
    if not phonenumbers.is_possible_number(number):
        return Invalid("bad_contact")
    return Contact("phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def username_contact(username: str) -> str:
    """A Telegram username as a contact is stored and compared: @ and lower case."""
    return "@" + username.lstrip("@").lower()


def shared_phone(raw: str) -> str:
    """A phone number Telegram sent with a shared contact, in E.164 like a typed one, so the two paths compare equal.
    Telegram sends the international number, usually without its +; one that does not parse keeps its digits."""
    digits = "".join(char for char in raw if char.isascii() and char.isdigit())[:20]
    if not digits:
        return raw.strip()[:32]
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return "+" + digits
    if not phonenumbers.is_possible_number(number):
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_note(text: str) -> str | Invalid:
    note = text.strip()
    if len(note) > NOTE_MAX:
        return Invalid("bad_note")
    if _has_hidden_characters(note.replace("\n", " ")):
        return Invalid("bad_note")
    return note
