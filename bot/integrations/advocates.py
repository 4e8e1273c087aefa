"""Importing advocates from a CSV file: the business's own list of who is in which segment.

Every line is checked before anything is stored; a bad line is reported by its number and skipped,
and the good ones are kept. New people get a referral code and an A/B variant exactly as if they had
started the bot; people we know keep their code, variant and names, and take the file's segment
(and language, when the file gives one). A line with an e-mail address and no Telegram id makes a record that is
asked by e-mail until its person opens their personal link in Telegram (bot/customers/advocate_links.py).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.ids import new_id
from bot.core.models import ChatUser, Customer, Segment
from bot.core.unit_of_work import Units, Work
from bot.core.validation import Invalid, check_contact, check_name, parse_count
from bot.program.sections import SEGMENTS
from messages import LOCALES

REQUIRED = ("first_name", "segment")
IDENTITIES = ("telegram_id", "email")  # at least one of the two columns, and on each line at least one value
OPTIONAL = ("last_name", "language")
CHUNK = 200  # lines per transaction: one commit each, so a large file does not wait on an fsync per line
TELEGRAM_ID_MAX = 2**53  # Telegram user ids fit in 52 bits
_NAME_PROBLEMS = {
    "bad_name_length": "is empty or longer than 64 characters",
    "bad_name_chars": "has characters a name cannot have",
}


class CsvError(ValueError):
    """The file as a whole cannot be read: nothing is imported."""


@dataclass(frozen=True)
class Advocate:
    line: int
    telegram_id: int | None
    email: str | None
    first_name: str
    last_name: str | None
    language: str | None
    segment: str


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    bad: tuple[BadLine, ...]

    def lines(self) -> list[str]:
        """The summary an operator reads."""
        done = self.created + self.updated
        summary = [f"Imported {done} advocate{'' if done == 1 else 's'}: {self.created} new, {self.updated} updated."]
        if self.bad:
            summary.append(f"Skipped {len(self.bad)} bad line{'' if len(self.bad) == 1 else 's'}:")
            summary += [f"  line {bad.line}: {bad.reason}" for bad in self.bad]
        return summary


def read_csv(data: bytes) -> tuple[list[Advocate], list[BadLine]]:
    """The good lines and the bad ones (with why); CsvError when the file itself is unusable."""
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start the file with a byte-order mark
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if not any(name in header for name in IDENTITIES):
        missing.append("telegram_id or email")
    if missing:
        wanted = ", ".join((*REQUIRED, "telegram_id or email"))
        raise CsvError(f"the header needs the columns {wanted} (missing: {', '.join(missing)})")
    reader.fieldnames = header
    good: list[Advocate] = []
    bad: list[BadLine] = []
    seen: dict[int | str, int] = {}
    try:
        for row in reader:
            parsed = _advocate(reader.line_num, row, seen)
            if isinstance(parsed, BadLine):
                bad.append(parsed)
            else:
                seen.update({key: parsed.line for key in (parsed.telegram_id, parsed.email) if key is not None})
                good.append(parsed)
    except csv.Error as exc:
        bad.append(BadLine(reader.line_num, f"not valid CSV ({exc}); the rest of the file was not read"))
    return good, bad


def _identity(line: int, values: dict[str, str], seen: dict[int | str, int]) -> tuple[int | None, str | None] | BadLine:
    """The line's Telegram id and e-mail address (one may be missing, not both), each new to the file."""
    raw_id, raw_email = values.get("telegram_id", ""), values.get("email", "")
    if not raw_id and not raw_email:
        return BadLine(line, "needs a telegram_id or an email")
    telegram_id = parse_count(raw_id, 1, TELEGRAM_ID_MAX - 1) if raw_id else None
    if raw_id and telegram_id is None:
        return BadLine(line, f"telegram_id {raw_id[:30]!r} is not a Telegram user id (a positive whole number)")
    contact = check_contact(raw_email) if raw_email else None
    if isinstance(contact, Invalid) or (contact is not None and contact.kind != "email"):
        return BadLine(line, f"email {raw_email[:60]!r} is not an e-mail address")
    email = contact.value if contact is not None else None
    for key, name in ((telegram_id, "telegram_id"), (email, "email")):
        if key is not None and key in seen:
            return BadLine(line, f"{name} {key} is already on line {seen[key]}")
    return telegram_id, email


def _advocate(line: int, row: dict[str | None, object], seen: dict[int | str, int]) -> Advocate | BadLine:
    if None in row:
        return BadLine(line, "more fields than the header has columns")
    values = {key: str(value).strip() for key, value in row.items() if key is not None and value is not None}
    identity = _identity(line, values, seen)
    if isinstance(identity, BadLine):
        return identity
    telegram_id, email = identity
    first = check_name(values.get("first_name", ""))
    if isinstance(first, Invalid):
        return BadLine(line, f"first_name {_NAME_PROBLEMS[first.reason]}")
    last: str | Invalid | None = check_name(values["last_name"]) if values.get("last_name") else None
    if isinstance(last, Invalid):
        return BadLine(line, f"last_name {_NAME_PROBLEMS[last.reason]}")
    language = values.get("language", "").lower() or None
    if language is not None and language not in LOCALES:
        return BadLine(line, f"language {language[:20]!r} is not one we speak ({', '.join(LOCALES)})")
    segment = values.get("segment", "").lower()
    if segment not in SEGMENTS:
        return BadLine(line, f"segment {segment[:30]!r} is unknown (valid: {', '.join(SEGMENTS)})")
    return Advocate(line, telegram_id, email, first, last, language, segment)


class AdvocateImport:
    def __init__(self, units: Units) -> None:
        self._units = units

    async def run(
        self, advocates: Sequence[Advocate], progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, int]:
        """Upsert the advocates in chunks; return (created, updated)."""
        run, created, updated = new_id(), 0, 0
        for start in range(0, len(advocates), CHUNK):
            chunk = advocates[start : start + CHUNK]
            async with self._units.once(f"import:{run}:{start}", bulk=True) as w:
                new = [await self._upsert(w, advocate) for advocate in chunk] if w is not None else []
            created, updated = created + new.count(True), updated + new.count(False)
            if progress is not None:
                progress(start + len(chunk), len(advocates))
        return created, updated

    async def _upsert(self, w: Work, advocate: Advocate) -> bool:
        """True when the advocate is new."""
        known = await self._known(w, advocate)
        segment = Segment(advocate.segment)
        if known is None:
            # No Telegram id: an id below zero, until they bind their account (Telegram's user ids are positive).
            number = advocate.telegram_id or -(secrets.randbelow(TELEGRAM_ID_MAX - 1) + 1)
            user = ChatUser(number, advocate.first_name, advocate.last_name, None, advocate.language)
            known_id = (await self._units.register(w, user, segment, referred_by=None)).telegram_id
            if advocate.email is not None and await w.tx.customer_by_contact(advocate.email) is None:
                # New to us, so they never started the bot, and a bot cannot write first: e-mail until they do.
                unreachable = w.now if advocate.telegram_id is not None else None
                await w.tx.update_customer(known_id, email=advocate.email, unreachable_at=unreachable, updated_at=w.now)
        else:
            known_id = known.telegram_id
            language = advocate.language or known.language
            email = known.email or advocate.email
            await w.tx.update_customer(
                known.telegram_id, segment=segment.value, language=language, email=email, updated_at=w.now
            )
        subject = str(known_id)  # the record's id, below zero for one not on Telegram yet
        await w.tx.log_event("customer.imported", w.now, actor="cli", subject=subject, segment=segment.value)
        return known is None

    async def _known(self, w: Work, advocate: Advocate) -> Customer | None:
        """The customer a line is about: by Telegram id, else by the e-mail address an earlier import gave."""
        if advocate.telegram_id is not None:
            known = await w.tx.customer(advocate.telegram_id)
            if known is not None or advocate.email is None:
                return known
        assert advocate.email is not None
        by_address = await w.tx.customer_by_contact(advocate.email)
        if (
            by_address is not None
            and advocate.telegram_id is not None
            and by_address.telegram_id != advocate.telegram_id
        ):
            return None  # the address is someone else's record: this Telegram id is a new person
        return by_address
