"""Privacy in portable SQL: what is stored about a person, and erasing it while the anonymous counts stay.

A forgotten customer's row moves to a random negative id (Telegram user ids are positive) with no name, contact or
working referral code, and everything that counted them (referrals, rewards, asks, shares, NPS scores) follows it,
so the funnel and the leaderboard's totals do not change. Free text they wrote or that names them is erased. A
friend known only by the contacts they left (on the landing page, or given by a referrer) has no row of their own:
their details leave the referrals that name them. Messages and the audit trail: storage/erasure_sql.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.models import Erased
from storage.contact_sql import ContactSql
from storage.erasure_sql import QUOTES, ErasureSql, Whom, forms
from storage.rows import to_db

if TYPE_CHECKING:
    from storage.sql_base import Executor

__all__ = ["QUOTES", "PrivacySql"]

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


def _naming(telegram_id: int | None, contacts: Sequence[str]) -> tuple[str, list[Any]]:
    """The referrals that name a person as the friend: by Telegram id, or by a contact as the friend's contact or,
    for a landing-page friend who left both, as their phone beside their address."""
    terms = ["friend_telegram_id = ?"] if telegram_id is not None else []
    params: list[Any] = [telegram_id] if telegram_id is not None else []
    for contact in contacts:
        terms.append("friend_contact = ? OR friend_phone = ?")
        params += [contact, contact]
    return " OR ".join(terms) or "1 = 0", params


def _address(contact: str) -> bool:
    """An e-mail address, as opposed to an @username or a phone number."""
    return "@" in contact[1:]


class PrivacySql(ErasureSql, ContactSql):
    """Mixed into SqlTransaction, whose executor it shares."""

    _db: Executor

    async def privacy_counts(self, telegram_id: int) -> dict[str, int]:
        """How many referral asks and NPS answers are stored about a customer."""
        rows = await self._db.fetch_all(
            "SELECT (SELECT COUNT(*) FROM asks WHERE customer_id = ?) AS asks,"
            " (SELECT COUNT(*) FROM nps_answers WHERE customer_id = ? AND score IS NOT NULL) AS nps,"
            " (SELECT COUNT(*) FROM feedback_answers WHERE customer_id = ?) AS survey",
            (telegram_id, telegram_id, telegram_id),
        )
        return {key: int(value) for key, value in rows[0].items()}

    async def notes_about(self, telegram_id: int | None, contacts: Sequence[str]) -> list[str]:
        """The names, contacts, phones and notes stored where a referral names this person as the friend."""
        where, params = _naming(telegram_id, contacts)
        rows = await self._db.fetch_all(
            f"SELECT friend_name, friend_contact, friend_phone, friend_note FROM referrals WHERE {where}", params
        )
        return [str(value) for row in rows for value in row.values() if value]

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
        phone, @username or e-mail address); `personal` are the texts that identify them: names, contacts, notes
        about them."""
        whom = await self._whom(telegram_id, pseudonym, contacts, personal)
        made = await self._anonymous_customer(telegram_id, pseudonym, code, at)
        # Their personal links, spent or not: a token's hash names nobody, but the link was theirs alone.
        await self._db.execute(
            "DELETE FROM advocate_invites WHERE customer_id = ? OR used_by = ?", (telegram_id, telegram_id)
        )
        return await self._erase(whom, made, at)

    async def erase_friend(self, contacts: Sequence[str], personal: Sequence[str], at: datetime) -> Erased:
        return await self._erase(await self._whom(None, None, contacts, personal), 0, at)

    async def _whom(
        self, telegram_id: int | None, pseudonym: int | None, contacts: Sequence[str], personal: Sequence[str]
    ) -> Whom:
        where, params = _naming(telegram_id, contacts)
        rows = await self._db.fetch_all(f"SELECT id, friend_contact FROM referrals WHERE {where}", params)
        # An address they left on a referral found by their phone is theirs too: what was mailed to it goes.
        found = [*contacts, *(str(row["friend_contact"]) for row in rows if row["friend_contact"])]
        addresses = tuple(dict.fromkeys(contact.lower() for contact in found if _address(contact)))
        return Whom(telegram_id, pseudonym, tuple(str(row["id"]) for row in rows), addresses, forms(personal))

    async def _erase(self, whom: Whom, made: int, at: datetime) -> Erased:
        for referral_id in whom.friend_ids:
            await self._db.execute(
                "UPDATE referrals SET"
                " friend_telegram_id = CASE WHEN friend_telegram_id = ? THEN CAST(? AS BIGINT) ELSE NULL END,"
                " friend_name = NULL, friend_contact = NULL, friend_phone = NULL, friend_note = NULL,"
                " friend_consent_at = NULL, friend_consent_text = NULL, lost_reason = NULL, updated_at = ?"
                " WHERE id = ?",
                (whom.telegram_id, whom.pseudonym, to_db(at), referral_id),
            )
        for address in whom.addresses:  # its unsubscribe token goes too
            await self.forget_email(address)
        dropped, blanked = await self._erase_messages(whom, at)
        cleaned = await self._erase_events(whom)
        return Erased(len(whom.friend_ids), made, dropped, blanked, cleaned, whom.friend_ids)

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
        await self._db.execute(  # when their last notifications went: nothing left to pace
            "DELETE FROM notification_windows WHERE platform = 'telegram' AND chat_id = ?", (str(telegram_id),)
        )
        await self._db.execute("DELETE FROM customers WHERE telegram_id = ?", (telegram_id,))
        return moved["referrals"]
