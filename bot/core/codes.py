"""Referral codes: unguessable, and valid as a Telegram deep-link payload.

A payload is the code, optionally followed by `_` and a one-letter share channel, so arrivals
can be traced to the button that carried them (i = inline card, q = QR, s = share page, c = copied,
k = a referral kit item shared inline, w = the landing page's Open in Telegram button).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 12  # 62**12 ≈ 2**71, far above the 48 bits a guesser would need to beat
CHANNELS = {"i": "inline", "q": "qr", "s": "share_page", "c": "copied", "k": "kit", "w": "web"}
_PAYLOAD = re.compile(rf"^([A-Za-z0-9]{{{CODE_LENGTH}}})(?:_([{''.join(CHANNELS)}]))?$")


def new_code() -> str:
    # One draw from the OS, uniform over every possible code, written in base 62 (a draw per letter costs
    # twelve system calls for each friend who arrives).
    number = secrets.randbelow(len(ALPHABET) ** CODE_LENGTH)
    letters = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[digit])
    return "".join(letters)


@dataclass(frozen=True)
class Payload:
    code: str
    channel: str  # one of CHANNELS' values, or "link" for the plain link


def parse_payload(raw: str) -> Payload | None:
    """The code and channel in a deep-link payload, or None when it is not one of ours."""
    match = _PAYLOAD.match(raw)
    if match is None:
        return None
    code, letter = match.groups()
    return Payload(code=code, channel=CHANNELS[letter] if letter else "link")


def payload_for(code: str, channel: str) -> str:
    for letter, name in CHANNELS.items():
        if name == channel:
            return f"{code}_{letter}"
    return code
