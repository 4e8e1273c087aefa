"""The privacy part of the Transaction interface: what is stored about a person, and erasing it while the anonymous
counts stay (storage/privacy_sql.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.models import Erased


class PrivacyTransaction(Protocol):
    async def privacy_counts(self, telegram_id: int) -> dict[str, int]:
        """How many asks, NPS answers and survey answers are stored about a customer."""

    async def notes_about(self, telegram_id: int | None, contacts: Sequence[str]) -> list[str]:
        """The names, contacts, phones and notes stored on the referrals that name this person as the friend: by
        their Telegram id (None for someone known only by contacts) or by a contact (an @username, a phone
        number, an e-mail address)."""

    async def erase_person(
        self,
        telegram_id: int,
        pseudonym: int,
        code: str,
        contacts: Sequence[str],
        personal: Sequence[str],
        at: datetime,
    ) -> Erased:
        """Erase a customer's personal data: their row moves to `pseudonym`. `contacts` find the referrals that
        name them as the friend; `personal` are the texts that identify them (names, contacts, notes)."""

    async def erase_friend(self, contacts: Sequence[str], personal: Sequence[str], at: datetime) -> Erased:
        """Erase a friend known only by contacts (a landing-page friend who is no customer): their details on the
        referrals that name them, their e-mail addresses, and the messages to them or naming them."""
