"""The friend's own consent. A customer who refers a friend directly says the friend agreed to be contacted; the
friend confirms it themselves when they first reach the bot, with a Yes / No question in their language.

Until they answer, the team's alert says the consent is the referrer's word. Yes: the alert says the friend confirmed
it, and when. No: nobody may contact them on that referral, so it is closed (rejected, its rewards revoked, its
reminders cancelled), the contact and note the referrer typed are erased, referral asks stop for them, and the team
is told in the alert's thread. The referral row itself stays, without those details, so the counts stay true and
the friend is never referred again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.buttons import FriendConsent, FriendConsentValue
from bot.core.models import ChatUser, Customer, Referral, Status
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from bot.rewards.ledger import Rewards

CLOSABLE = frozenset({Status.HELD, Status.NEW, Status.CLAIMED, Status.CONTACTED})


def unconfirmed(referral: Referral | None) -> bool:
    """A contact the referrer typed, with consent on their word alone: the friend has not answered yet."""
    return (
        referral is not None
        and referral.friend_contact is not None
        and referral.friend_consent_at is not None
        and referral.friend_confirmed_at is None
        and referral.friend_declined_at is None
    )


class FriendConsents:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = units.screens
        self._rewards = Rewards(units)

    async def ask(self, w: Work, friend: Customer, referral: Referral, named_by: Customer) -> None:
        """The question, to a friend who reached the bot for the first time; `named_by` typed their contact."""
        screens, locale = self._screens, friend.language
        question = screens.to(friend, "friend_consent_ask", referrer=named_by, contact=referral.friend_contact)
        yes, no = screens.label(locale, "friend_consent_yes"), screens.label(locale, "friend_consent_no")
        message = screens.with_buttons(question, (yes, FriendConsent("yes")), (no, FriendConsent("no")))
        await w.send(message, about=[person(named_by.telegram_id)])

    async def answer(self, inbound_id: str, user: ChatUser, choice: FriendConsentValue) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            friend = await self._units.customer(w, user)
            referral = await w.tx.referral_for_friend(user.id)
            if referral is None or not unconfirmed(referral):  # answered already, or nothing left to answer
                await w.send(self._screens.to(friend, "button_expired"))
            elif choice == "yes":
                await self._confirmed(w, friend, referral)
            else:
                await self._declined(w, friend, referral)
        return True

    async def _confirmed(self, w: Work, friend: Customer, referral: Referral) -> None:
        await w.tx.update_referral(referral.id, friend_confirmed_at=w.now, updated_at=w.now)
        await w.tx.log_event("referral.friend_confirmed", w.now, actor=f"tg:{friend.telegram_id}", subject=referral.id)
        await w.send(self._screens.to(friend, "friend_consent_thanks"))
        await self._tell_team(w, referral, "friend_confirmed", friend)

    async def _declined(self, w: Work, friend: Customer, referral: Referral) -> None:
        erased = {"friend_contact": None, "friend_contact_kind": None, "friend_note": None, "friend_consent_at": None}
        changes: dict[str, Any] = {**erased, "friend_declined_at": w.now, "updated_at": w.now}
        closed = referral.status in CLOSABLE
        if closed:
            changes |= {"status": Status.REJECTED.value, "rejected_at": w.now}
        await w.tx.update_referral(referral.id, **changes)
        await w.tx.update_customer(friend.telegram_id, asks_opted_out=True, opted_out_at=w.now, updated_at=w.now)
        if closed:
            await w.tx.cancel_timers(referral.id, w.now)
            await self._rewards.revoke(w, referral.id)
            after = replace(referral, **changes)
            await self._units.webhooks.status_changed(w, after, referral.status, f"tg:{friend.telegram_id}")
        await w.tx.log_event(
            "referral.friend_declined", w.now, actor=f"tg:{friend.telegram_id}", subject=referral.id, closed=closed
        )
        await w.send(self._screens.to(friend, "friend_consent_declined"))
        await self._tell_team(w, referral, "friend_declined", friend, closed=closed)

    async def _tell_team(self, w: Work, referral: Referral, template: str, friend: Customer, **context: Any) -> None:
        """The alert redrawn with the friend's answer, and a line in its thread (a held referral has no alert)."""
        alerts = self._units.alerts
        if alerts is None or referral.status == Status.HELD:
            return
        await alerts.refresh(w, referral.id)
        await alerts.thread(w, referral.id, self._screens.team(template, friend=friend.display_name, **context))
