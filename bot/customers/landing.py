"""The landing page every referral link also has (PUBLIC_URL/r/<code>), for friends without Telegram: what the page
shows, and a friend's details left there becoming a referral by the same rules as every other arrival (not the
referrer themselves, not a customer, one referrer per friend, the velocity limit, the attribution rule)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.core.ids import new_id
from bot.core.models import Customer, Referral, Source, Status
from bot.core.notifications import friend_joined
from bot.core.subjects import friend_of, person
from bot.core.unit_of_work import Units, Work
from bot.core.validation import Invalid, check_contact, check_name, check_note
from bot.customers.attribution import move_credit, takes_credit
from bot.customers.prompts import prompt_of
from bot.customers.referrals import ReferralService
from bot.delivery.mail import Mailer
from bot.rewards.ledger import Rewards
from messages import normalize_locale

log = logging.getLogger(__name__)
_CODE = re.compile(r"[A-Za-z0-9]{12}")


@dataclass(frozen=True)
class FriendForm:
    """The form as posted: raw strings, checked here."""

    name: str
    email: str
    phone: str
    note: str
    consent: bool


@dataclass(frozen=True)
class LandingPage:
    known: bool  # the code is a customer's: the form is offered
    referrer_name: str | None  # their first name; None for an unknown code, or when they chose to hide it
    program: str
    friend_incentive: str
    ideal_customer: str
    telegram_url: str  # the deep link with the referrer's code, or the bot's own link
    consent_text: str


@dataclass(frozen=True)
class Refused:
    """Bad input: the field it is about, and why (a key of landing.toml's error_ words). Nothing was stored."""

    field: str
    reason: str


@dataclass(frozen=True)
class Accepted:
    """The thank-you. `referral_id` is None when nothing new was stored (a friend we know already): the page never
    tells a stranger who is a customer or who was referred."""

    referral_id: str | None


@dataclass(frozen=True)
class _Friend:
    name: str
    email: str | None
    phone: str | None
    note: str | None


class _Refusal(Exception):
    def __init__(self, refused: Refused) -> None:
        self.refused = refused


def check_form(form: FriendForm) -> _Friend | Refused:
    """The form's fields in order, the first bad one named."""
    name = check_name(form.name)
    if isinstance(name, Invalid):
        return Refused("name", "bad_name")
    email = check_contact(form.email) if form.email.strip() else None
    if isinstance(email, Invalid) or (email is not None and email.kind != "email"):
        return Refused("email", "bad_email")
    phone = check_contact(form.phone) if form.phone.strip() else None
    if isinstance(phone, Invalid) or (phone is not None and phone.kind != "phone"):
        return Refused("phone", "bad_phone")
    if email is None and phone is None:
        return Refused("email", "contact_missing")
    note = check_note(form.note)
    if isinstance(note, Invalid):
        return Refused("note", "bad_note")
    if not form.consent:
        return Refused("consent", "consent_missing")
    return _Friend(name, email.value if email else None, phone.value if phone else None, note or None)


class LandingService:
    def __init__(self, units: Units, referrals: ReferralService, mailer: Mailer) -> None:
        self._units = units
        self._referrals = referrals
        self._mailer = mailer
        self._rewards = Rewards(units)

    async def page(self, code: str, locale: str) -> LandingPage:
        locale = normalize_locale(locale, self._units.program.program.default_locale)
        async with self._units.store.reading() as tx:
            referrer = await tx.customer_by_code(code) if _CODE.fullmatch(code) else None
        screens, program = self._units.screens, self._units.program
        incentive = self._rewards.rule(referrer, "friend") if referrer else program.incentives.friend
        links = screens.links
        return LandingPage(
            known=referrer is not None,
            referrer_name=referrer.first_name if referrer is not None and not referrer.name_hidden else None,
            program=program.program.name,
            friend_incentive=incentive.get(locale),
            ideal_customer=program.ideal_customer.get(locale),
            telegram_url=links.personal(code, "web") if referrer is not None else links.bot(),
            consent_text=screens.page(locale, "consent"),
        )

    async def submit(self, submission_id: str, code: str, locale: str, form: FriendForm) -> Accepted | Refused:
        """A friend's details; `submission_id` (the form's own token) makes the same form sent twice count once."""
        friend = check_form(form)
        if isinstance(friend, Refused):
            return friend
        locale = normalize_locale(locale, self._units.program.program.default_locale)
        try:
            async with self._units.once(f"landing:{submission_id[:96]}") as w:
                if w is None:
                    return Accepted(None)
                referrer = await w.tx.customer_by_code(code) if _CODE.fullmatch(code) else None
                if referrer is None:
                    raise _Refusal(Refused("code", "unknown_code"))
                if own := _own_contact(referrer, friend):
                    raise _Refusal(Refused(own, "own_contact"))
                return Accepted(await self._arrive(w, referrer, friend, locale))
        except _Refusal as refusal:  # raised inside the unit of work: it rolled back, nothing is stored
            return refusal.refused

    async def _arrive(self, w: Work, referrer: Customer, friend: _Friend, locale: str) -> str | None:
        contacts = [contact for contact in (friend.email, friend.phone) if contact is not None]
        for contact in contacts:
            if await w.tx.customer_by_contact(contact) is not None:
                await w.tx.log_event("landing.known", w.now, actor="web", referrer=referrer.telegram_id)
                return None
        for contact in contacts:
            existing = await w.tx.referral_by_contact(contact)
            if existing is not None:
                return await self._again(w, existing, referrer)
        return await self._new(w, referrer, friend, locale)

    async def _again(self, w: Work, existing: Referral, referrer: Customer) -> str | None:
        """A friend someone referred already: the attribution rule decides whether this link takes the credit."""
        rule = self._units.program.attribution
        if existing.referrer_id == referrer.telegram_id or not takes_credit(rule, existing, w.now):
            await w.tx.log_event("landing.duplicate", w.now, actor="web", subject=existing.id)
            return None
        prompt = await prompt_of(w, referrer.telegram_id, rule.window)
        await move_credit(w, self._rewards, existing, referrer, "landing", w.now, "web", prompted_by=prompt)
        await self._thank(w, referrer, existing.friend_name or "", existing.id, existing.flagged)
        return existing.id

    async def _new(self, w: Work, referrer: Customer, friend: _Friend, locale: str) -> str:
        flagged = await self._referrals.too_fast(w, referrer)
        referral = Referral(
            id=new_id(),
            referrer_id=referrer.telegram_id,
            source=Source.LANDING,
            channel="landing",
            status=Status.HELD if flagged else Status.NEW,
            created_at=w.now,
            updated_at=w.now,
            friend_name=friend.name,
            friend_contact=friend.email or friend.phone,
            friend_contact_kind="email" if friend.email else "phone",
            friend_phone=friend.phone if friend.email else None,
            friend_note=friend.note,
            friend_consent_at=w.now,
            friend_confirmed_at=w.now,  # they ticked it themselves
            friend_consent_text=self._units.screens.page(locale, "consent"),
            friend_language=locale,
            flagged=flagged,
            flag_reason="velocity" if flagged else None,
            variant=referrer.variant,
        )
        await self._thank(w, referrer, friend.name, referral.id, flagged)
        await self._referrals.record(w, referral, referrer, friend=None)
        if friend.email is not None:  # they consented to be contacted: a welcome, and the way to the bot
            await self._mailer.send(
                w,
                friend.email,
                locale,
                "friend_welcome",
                about=[friend_of(referral.id), person(referrer.telegram_id)],
                friend_name=friend.name,
                referrer=referrer,
                referrer_name=None if referrer.name_hidden else referrer.first_name,
                friend_incentive=self._rewards.rule(referrer, "friend").get(locale),
                telegram_url=self._units.screens.links.personal(referrer.referral_code, "web"),
            )
        return referral.id

    async def _thank(self, w: Work, referrer: Customer, friend_name: str, referral_id: str, held: bool) -> None:
        screens = self._units.screens
        reward = self._rewards.rule(referrer, "referrer").get(referrer.language)
        thanks = screens.to(referrer, "referrer_thanks", friend_name=friend_name, held=held, referrer_reward=reward)
        await w.send(thanks, about=[friend_of(referral_id)], merge=friend_joined(referrer, friend_name, held, reward))


def _own_contact(referrer: Customer, friend: _Friend) -> str | None:
    """The field that holds the referrer's own contact, if one does."""
    if friend.email is not None and referrer.email is not None and friend.email == referrer.email.lower():
        return "email"
    if friend.phone is not None and referrer.phone is not None and friend.phone == referrer.phone:
        return "phone"
    return None
