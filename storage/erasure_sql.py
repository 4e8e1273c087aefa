"""Erasing a person from the messages and the audit trail, in portable SQL: the part of forgetting
(storage/privacy_sql.py) that finds what was sent to them or names them, whoever they are: a customer, or a friend
known only by the contacts they left."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.subjects import friend_of, person
from storage.rows import json_text, to_db

if TYPE_CHECKING:
    from storage.sql_base import Executor

# Team messages that may quote a person, and so are redacted in Slack when that person is forgotten. The cards drawn
# from the referral when sent (its alert, routing's DM cards) hold only ids: `forget` redraws those instead.
QUOTES = frozenset({"notice", "thread", "dm"})
# Event data keys that may hold free text about a person (a lost reason, an error quoting a message).
_FREE_TEXT_KEYS = frozenset({"reason", "error", "text", "payload", "comment", "note", "phone", "name", "email"})


@dataclass(frozen=True)
class Whom:
    """The person being erased. A customer has a Telegram id (or, imported with only an e-mail address, an id below
    zero) and the pseudonym their row moves to; a friend known only by contacts has neither."""

    telegram_id: int | None
    pseudonym: int | None
    friend_ids: tuple[str, ...]  # the referrals that name them as the friend
    addresses: tuple[str, ...]  # their e-mail addresses: e-mail rows to these are theirs
    forms: tuple[str, ...]  # their personal texts as stored in JSON (see `forms`)

    @property
    def subjects(self) -> list[str]:
        """Whose names a message records it carries (bot/core/subjects.py), when it carries this person's."""
        own = [person(self.telegram_id)] if self.telegram_id is not None else []
        return [*own, *(friend_of(referral_id) for referral_id in self.friend_ids)]

    def to_them(self, platform: str, chat_id: str) -> bool:
        if platform == "email":
            return chat_id in self.addresses
        return platform == "telegram" and self.telegram_id is not None and chat_id == str(self.telegram_id)


def forms(personal: Sequence[str]) -> tuple[str, ...]:
    """Each personal text as it may appear inside a stored JSON payload: raw, HTML- or Slack-escaped."""
    found: set[str] = set()
    for text in personal:
        for form in (text, html.escape(text), html.escape(text, quote=False)):
            found.add(json_text(form)[1:-1])  # escaped as stored
    return tuple(sorted(form for form in found if len(form) >= 3))


def _names(text: str, forms: Sequence[str]) -> bool:
    """Whether a text contains one of the forms as a whole word: "Ben" is in "Ben joined", not in "Benefits"."""
    return any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text) for form in forms)


def _like(form: str) -> str:
    return "%" + form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _scrubbed(value: Any, whom: Whom, related: bool) -> Any:
    """Event data with the person's id replaced and any text that names them (or, in their own events, any free
    text at all) emptied."""
    if isinstance(value, dict):
        return {
            key: "" if related and key in _FREE_TEXT_KEYS else _scrubbed(item, whom, related)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item, whom, related) for item in value]
    own = whom.telegram_id is not None
    if own and isinstance(value, int) and not isinstance(value, bool) and value == whom.telegram_id:
        return whom.pseudonym
    if isinstance(value, str) and ((own and value == str(whom.telegram_id)) or _names(value, whom.forms)):
        return ""
    return value


class ErasureSql:
    """Mixed into SqlTransaction, whose executor it shares."""

    _db: Executor
    enqueue: Callable[[str, str, dict[str, Any], str, datetime], Awaitable[bool]]  # SqlTransaction's

    async def _erase_messages(self, whom: Whom, at: datetime) -> tuple[int, int]:
        """Messages to them or naming them: those not yet sent are dropped, the record of sent ones is blanked.
        A message names them when it recorded them as a subject (outbox_subjects), whatever their name; one queued
        before subjects were recorded is found by its text: a thread line or DM about their referral, or the
        forms of their names (three letters or more) as whole words."""
        subjects, searched = whom.subjects, [*whom.forms, *whom.friend_ids]
        named = f"id IN (SELECT outbox_id FROM outbox_subjects WHERE subject IN ({_marks(subjects)}))"
        named = named if subjects else "1 = 0"
        own = ["platform = 'telegram' AND chat_id = ?"] if whom.telegram_id is not None else []
        own += [f"platform = 'email' AND chat_id IN ({_marks(whom.addresses)})"] if whom.addresses else []
        rows = await self._db.fetch_all(
            f"SELECT id, platform, chat_id, payload, status, platform_message_id, {named} AS named FROM outbox"
            f" WHERE {' OR '.join(f'({term})' for term in [*own, named])}"
            + "".join(" OR payload LIKE ? ESCAPE '\\'" for _ in searched),
            (
                *subjects,
                *([str(whom.telegram_id)] if whom.telegram_id is not None else []),
                *whom.addresses,
                *subjects,
                *(_like(form) for form in searched),
            ),
        )
        dropped = blanked = 0
        for row in rows:
            payload = json.loads(row["payload"])
            to_them = whom.to_them(row["platform"], row["chat_id"])
            about_them = payload.get("referral_id") in whom.friend_ids and payload.get("kind") in ("thread", "dm")
            if not (to_them or about_them or row["named"] or _names(row["payload"], whom.forms)):
                continue  # the LIKE above is case-blind and finds parts of words; here only whole words count
            await self._db.execute("DELETE FROM outbox_subjects WHERE outbox_id = ?", (row["id"],))
            if row["status"] in ("pending", "sending"):
                dropped += await self._db.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
                continue
            blanked += await self._db.execute(
                "UPDATE outbox SET payload = '{}', chat_id = ?, last_error = NULL WHERE id = ?",
                (_chat_left(whom, row) if to_them else row["chat_id"], row["id"]),
            )
            await self._redact_in_slack(row, payload, at)
        return dropped, blanked

    async def _redact_in_slack(self, row: dict[str, Any], payload: dict[str, Any], at: datetime) -> None:
        """A team message that quoted them is already in Slack: replace its text there too (alert cards are
        redrawn by the caller instead)."""
        if row["platform"] != "slack" or not row["platform_message_id"] or payload.get("kind") not in QUOTES:
            return
        redact = {"kind": "redact", "ts": row["platform_message_id"], "user": payload.get("user")}
        chat = row["chat_id"] if payload.get("kind") != "dm" else f"dm:{payload.get('user')}"
        await self.enqueue("slack", chat, redact, f"redact:{row['id']}", at)

    async def _erase_events(self, whom: Whom) -> int:
        """The audit trail is append-only, except that a forgotten person's data leaves it too."""
        own = whom.telegram_id is not None
        actor = f"tg:{whom.telegram_id}" if own else None
        subjects = [*([str(whom.telegram_id)] if own else []), *whom.friend_ids]
        terms = [*(["actor = ?", "data LIKE ?"] if own else []), *("subject = ?" for _ in subjects)]
        terms += ["data LIKE ? ESCAPE '\\'" for _ in whom.forms]
        if not terms:
            return 0
        rows = await self._db.fetch_all(
            f"SELECT id, actor, subject, data FROM events WHERE {' OR '.join(terms)}",
            (*([actor, f"%{whom.telegram_id}%"] if own else []), *subjects, *(_like(form) for form in whom.forms)),
        )
        for row in rows:
            related = (own and row["actor"] == actor) or row["subject"] in subjects or _names(row["data"], whom.forms)
            data = _scrubbed(json.loads(row["data"]), whom, related)
            await self._db.execute(
                "UPDATE events SET actor = ?, subject = ?, data = ? WHERE id = ?",
                (
                    f"tg:{whom.pseudonym}" if own and row["actor"] == actor else row["actor"],
                    str(whom.pseudonym) if own and row["subject"] == str(whom.telegram_id) else row["subject"],
                    to_db(data),
                    row["id"],
                ),
            )
        return len(rows)


def _chat_left(whom: Whom, row: dict[str, Any]) -> str:
    """What a sent message to them keeps as its chat: a customer's pseudonym; nothing of an e-mail address."""
    return str(whom.pseudonym) if row["platform"] == "telegram" else ""
