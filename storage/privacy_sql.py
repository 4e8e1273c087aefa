"""Privacy in portable SQL: what is stored about a person, and erasing it while the anonymous counts stay.

A forgotten customer's row moves to a random negative id (Telegram user ids are positive) with no name, contact or
working referral code, and everything that counted them (referrals, rewards, asks, shares, NPS scores) follows it,
so the funnel and the leaderboard's totals do not change. Free text they wrote or that names them is erased.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.models import Erased
from bot.core.subjects import friend_of, person
from storage.rows import json_text, to_db

if TYPE_CHECKING:
    from storage.sql_base import Executor

# Team messages that may quote a person, and so are redacted in Slack when that person is forgotten.
QUOTES = frozenset({"notice", "thread", "dm"})
# Event data keys that may hold free text about a person (a lost reason, an error quoting a message).
_FREE_TEXT_KEYS = frozenset({"reason", "error", "text", "payload", "comment", "note", "phone", "name"})
_REPOINTED = (
    ("referrals", "referrer_id"),
    ("advocate_tallies", "referrer_id"),  # the leaderboard's counts, so it still counts them, unnamed
    ("rewards", "customer_id"),
    ("share_events", "customer_id"),
    ("asks", "customer_id"),
    ("ask_triggers", "customer_id"),  # waiting asks follow too, and are then skipped: the pseudonym opted out
    ("nps_answers", "customer_id"),
    ("customers", "referred_by"),
)


def _forms(personal: Sequence[str]) -> list[str]:
    """Each personal text as it may appear inside a stored JSON payload: raw, HTML- or Slack-escaped."""
    forms: set[str] = set()
    for text in personal:
        for form in (text, html.escape(text), html.escape(text, quote=False)):
            forms.add(json_text(form)[1:-1])  # escaped as stored
    return sorted(form for form in forms if len(form) >= 3)


def _names(text: str, forms: Sequence[str]) -> bool:
    """Whether a text contains one of the forms as a whole word: "Ben" is in "Ben joined", not in "Benefits"."""
    return any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text) for form in forms)


def _like(form: str) -> str:
    return "%" + form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _scrubbed(value: Any, telegram_id: int, pseudonym: int, forms: Sequence[str], related: bool) -> Any:
    """Event data with the person's id replaced and any text that names them (or, in their own events, any free
    text at all) emptied."""
    if isinstance(value, dict):
        return {
            key: "" if related and key in _FREE_TEXT_KEYS else _scrubbed(item, telegram_id, pseudonym, forms, related)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item, telegram_id, pseudonym, forms, related) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value == telegram_id:
        return pseudonym
    if isinstance(value, str) and (value == str(telegram_id) or _names(value, forms)):
        return ""
    return value


class PrivacySql:
    """Mixed into SqlTransaction, whose executor it shares."""

    _db: Executor
    enqueue: Callable[[str, str, dict[str, Any], str, datetime], Awaitable[bool]]  # SqlTransaction's

    async def privacy_counts(self, telegram_id: int) -> dict[str, int]:
        """How many referral asks and NPS answers are stored about a customer."""
        rows = await self._db.fetch_all(
            "SELECT (SELECT COUNT(*) FROM asks WHERE customer_id = ?) AS asks,"
            " (SELECT COUNT(*) FROM nps_answers WHERE customer_id = ? AND score IS NOT NULL) AS nps,"
            " (SELECT COUNT(*) FROM feedback_answers WHERE customer_id = ?) AS survey",
            (telegram_id, telegram_id, telegram_id),
        )
        return {key: int(value) for key, value in rows[0].items()}

    async def erase_person(
        self,
        telegram_id: int,
        pseudonym: int,
        code: str,
        contacts: Sequence[str],
        personal: Sequence[str],
        at: datetime,
    ) -> Erased:
        """Erase a customer's personal data. `contacts` find the referrals that name them as the friend (their
        phone or @username); `personal` are the texts that identify them: names, contacts, notes about them."""
        forms = _forms(personal)
        friend_ids = [
            str(row["id"])
            for row in await self._db.fetch_all(
                "SELECT id FROM referrals WHERE friend_telegram_id = ?"
                + "".join(" OR friend_contact = ?" for _ in contacts),
                (telegram_id, *contacts),
            )
        ]
        made = await self._anonymous_customer(telegram_id, pseudonym, code, at)
        for referral_id in friend_ids:
            await self._db.execute(
                "UPDATE referrals SET"
                " friend_telegram_id = CASE WHEN friend_telegram_id = ? THEN CAST(? AS BIGINT) ELSE NULL END,"
                " friend_name = NULL, friend_contact = NULL, friend_note = NULL, friend_consent_at = NULL,"
                " lost_reason = NULL, updated_at = ? WHERE id = ?",
                (telegram_id, pseudonym, to_db(at), referral_id),
            )
        dropped, blanked = await self._erase_messages(telegram_id, pseudonym, forms, friend_ids, at)
        cleaned = await self._erase_events(telegram_id, pseudonym, forms, friend_ids)
        return Erased(len(friend_ids), made, dropped, blanked, cleaned, tuple(friend_ids))

    async def notes_about(self, telegram_id: int, contacts: Sequence[str]) -> list[str]:
        """The names, contacts and notes others gave when they referred this person."""
        rows = await self._db.fetch_all(
            "SELECT friend_name, friend_contact, friend_note FROM referrals WHERE friend_telegram_id = ?"
            + "".join(" OR friend_contact = ?" for _ in contacts),
            (telegram_id, *contacts),
        )
        return [str(value) for row in rows for value in row.values() if value]

    async def _anonymous_customer(self, telegram_id: int, pseudonym: int, code: str, at: datetime) -> int:
        """Move the customer to their pseudonym; their own free text goes, what counted them follows."""
        when = to_db(at)
        await self._db.execute(
            "INSERT INTO customers (telegram_id, first_name, last_name, username, language, segment, referral_code,"
            " variant, referred_by, phone, contact_consent_at, asks_opted_out, opted_out_at, unreachable_at,"
            " created_at, updated_at) SELECT CAST(? AS BIGINT), '', NULL, NULL, language, segment, ?, variant,"
            " referred_by, NULL, NULL, 1, ?, ?, created_at, ? FROM customers WHERE telegram_id = ?",
            (pseudonym, code, when, when, when, telegram_id),
        )
        moved = {
            table: await self._db.execute(
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (pseudonym, telegram_id)
            )
            for table, column in _REPOINTED
        }
        await self._db.execute("UPDATE share_events SET detail = NULL WHERE customer_id = ?", (pseudonym,))
        await self._db.execute("UPDATE nps_answers SET comment = NULL WHERE customer_id = ?", (pseudonym,))
        await self._db.execute("DELETE FROM feedback_answers WHERE customer_id = ?", (telegram_id,))
        await self._db.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))
        await self._db.execute("DELETE FROM parked_updates WHERE sender = ?", (telegram_id,))  # as they came
        await self._db.execute("DELETE FROM customers WHERE telegram_id = ?", (telegram_id,))
        return moved["referrals"]

    async def _erase_messages(
        self, telegram_id: int, pseudonym: int, forms: Sequence[str], friend_ids: Sequence[str], at: datetime
    ) -> tuple[int, int]:
        """Messages to them or naming them: those not yet sent are dropped, the record of sent ones is blanked.
        A message names them when it recorded them as a subject (outbox_subjects), whatever their name; one queued
        before subjects were recorded is found by its text: a thread line or DM about their referral, or the
        forms of their names (three letters or more) as whole words."""
        subjects = [person(telegram_id), *(friend_of(referral_id) for referral_id in friend_ids)]
        named = f"id IN (SELECT outbox_id FROM outbox_subjects WHERE subject IN ({', '.join('?' for _ in subjects)}))"
        searched = [*forms, *friend_ids]
        rows = await self._db.fetch_all(
            f"SELECT id, platform, chat_id, payload, status, platform_message_id, {named} AS named FROM outbox"
            f" WHERE (platform = 'telegram' AND chat_id = ?) OR {named}"
            + "".join(" OR payload LIKE ? ESCAPE '\\'" for _ in searched),
            (*subjects, str(telegram_id), *subjects, *(_like(form) for form in searched)),
        )
        dropped = blanked = 0
        for row in rows:
            payload = json.loads(row["payload"])
            to_them = row["platform"] == "telegram" and row["chat_id"] == str(telegram_id)
            about_them = payload.get("referral_id") in friend_ids and payload.get("kind") in ("thread", "dm")
            if not (to_them or about_them or row["named"] or _names(row["payload"], forms)):
                continue  # the LIKE above is case-blind and finds parts of words; here only whole words count
            await self._db.execute("DELETE FROM outbox_subjects WHERE outbox_id = ?", (row["id"],))
            chat = str(pseudonym) if to_them else row["chat_id"]
            if row["status"] in ("pending", "sending"):
                dropped += await self._db.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
            else:
                blanked += await self._db.execute(
                    "UPDATE outbox SET payload = '{}', chat_id = ?, last_error = NULL WHERE id = ?", (chat, row["id"])
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

    async def _erase_events(
        self, telegram_id: int, pseudonym: int, forms: Sequence[str], friend_ids: Sequence[str]
    ) -> int:
        """The audit trail is append-only, except that a forgotten person's data leaves it too."""
        actor, subjects = f"tg:{telegram_id}", [str(telegram_id), *friend_ids]
        rows = await self._db.fetch_all(
            "SELECT id, actor, subject, data FROM events WHERE actor = ? OR data LIKE ?"
            + "".join(" OR subject = ?" for _ in subjects)
            + "".join(" OR data LIKE ? ESCAPE '\\'" for _ in forms),
            (actor, f"%{telegram_id}%", *subjects, *(_like(form) for form in forms)),
        )
        for row in rows:
            related = row["actor"] == actor or row["subject"] in subjects or _names(row["data"], forms)
            data = _scrubbed(json.loads(row["data"]), telegram_id, pseudonym, forms, related)
            await self._db.execute(
                "UPDATE events SET actor = ?, subject = ?, data = ? WHERE id = ?",
                (
                    f"tg:{pseudonym}" if row["actor"] == actor else row["actor"],
                    str(pseudonym) if row["subject"] == str(telegram_id) else row["subject"],
                    to_db(data),
                    row["id"],
                ),
            )
        return len(rows)
