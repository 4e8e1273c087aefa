"""Forgetting a person: their personal data leaves every table in one unit of work, while the anonymous counts
(referrals, statuses, rewards, the funnel) stay. An operator does it from the command line, by Telegram user id,
e-mail address or phone number; a customer with /forget. Someone outside Telegram is forgotten too: an advocate
imported with only an e-mail address is a customer like any other, and a friend who left their details on the
landing page is found by the address or number they left.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.core.buttons import ForgetChoice, ForgetChoiceValue
from bot.core.models import FORGET_CHAT, ChatUser, Customer, Erased, Outgoing, Status
from bot.core.unit_of_work import Units, Work
from bot.core.validation import username_contact
from bot.team.alerts import Alerts
from bot.team.routing import redraw_cards
from messages import normalize_locale


@dataclass(frozen=True)
class Forgotten:
    """What was erased, in counts an operator can read."""

    erased: Erased
    scrubbed: bool  # False when the database files could not be cleaned at once (another connection was busy)
    customer: bool = True  # False: a friend known only by the contact they left, with no customer record


def _contacts(customer: Customer) -> list[str]:
    """How others may have named this person as a contact: their phone (with or without +), @username or e-mail
    address."""
    # As typed (for the texts that show it) and as stored since contacts are compared lower-case.
    found = [f"@{customer.username}", username_contact(customer.username)] if customer.username else []
    found += _phone_forms(customer.phone) if customer.phone else []
    found += [customer.email] if customer.email else []
    return list(dict.fromkeys(found))


def _phone_forms(phone: str) -> list[str]:
    digits = phone.lstrip("+")
    return [digits, f"+{digits}"]


def _pseudonym() -> int:
    # Telegram user ids are positive, so a negative id never meets a real person.
    return -(secrets.randbelow(2**52) + 1)


async def _with_alerts(w: Work, referral_ids: tuple[str, ...]) -> list[str]:
    """The referrals the team has an alert for: a held one has none until a manager approves it."""
    found = [await w.tx.referral(referral_id) for referral_id in referral_ids]
    return [referral.id for referral in found if referral is not None and referral.status != Status.HELD]


async def erase(w: Work, customer: Customer, alerts: Alerts | None) -> Erased:
    """Erase one customer's personal data inside the caller's unit of work."""
    tx, contacts = w.tx, _contacts(customer)
    personal = [customer.display_name, customer.first_name, customer.last_name or "", *contacts]
    personal += [customer.username or "", *await tx.notes_about(customer.telegram_id, contacts)]
    made = [r.id for r in await tx.referrals_by(customer.telegram_id) if r.status != Status.HELD]  # with alerts
    pseudonym = _pseudonym()
    erased = await tx.erase_person(
        customer.telegram_id, pseudonym, "~" + secrets.token_hex(8), contacts, [p for p in personal if p], w.now
    )
    await tx.log_event(
        "customer.forgotten",
        w.now,
        subject=str(pseudonym),
        referrals_made=erased.referrals_made,
        referrals_as_friend=erased.referrals_as_friend,
    )
    if alerts is not None:  # Slack alerts that showed their name are redrawn without it
        for referral_id in dict.fromkeys([*made, *await _with_alerts(w, erased.friend_of)]):
            await alerts.refresh(w, referral_id)
            await redraw_cards(w, referral_id)  # and so are routing's DM cards of the referral
    return erased


async def erase_friend(w: Work, contact: str, alerts: Alerts | None) -> Erased | None:
    """Erase a friend known only by a contact they left (an e-mail address or phone number, as stored), inside the
    caller's unit of work; None when no referral names them."""
    contacts = _phone_forms(contact) if contact.startswith("+") else [contact]
    notes = await w.tx.notes_about(None, contacts)
    if not notes:
        return None
    erased = await w.tx.erase_friend(contacts, [*contacts, *notes], w.now)
    await w.tx.log_event("friend.forgotten", w.now, referrals_as_friend=erased.referrals_as_friend)
    if alerts is not None:  # the team's alert cards showed their name and contact
        for referral_id in await _with_alerts(w, erased.friend_of):
            await alerts.refresh(w, referral_id)
            await redraw_cards(w, referral_id)
    return erased


class Forgetting:
    def __init__(self, units: Units, alerts: Alerts | None = None) -> None:
        self._units = units
        self._alerts = alerts or units.alerts  # an operator's command passes the team's alerts itself
        self._screens = units.screens

    async def forget(self, inbound_id: str, telegram_id: int) -> Forgotten | None:
        """The operator's `forget`: None when nobody with that id is stored."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return None
            customer = await w.tx.customer(telegram_id)
            if customer is None:
                return None
            erased = await erase(w, customer, self._alerts)
        return Forgotten(erased, await self._units.store.scrub())  # scrubbed once the erasure is committed

    async def forget_contact(self, inbound_id: str, contact: str) -> Forgotten | None:
        """The operator's `forget --email` or `--phone`, with the contact as stored (a lower-case address, a number
        in E.164): the customer who has it (an advocate imported by e-mail among them), else the friend who left
        it on a referral; None when nobody has it."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return None
            customer = await w.tx.customer_by_contact(contact)
            if customer is not None:
                erased: Erased | None = await erase(w, customer, self._alerts)
            else:
                erased = await erase_friend(w, contact, self._alerts)
            if erased is None:
                return None
        return Forgotten(erased, await self._units.store.scrub(), customer=customer is not None)

    async def ask(self, inbound_id: str, user: ChatUser) -> bool:
        """/forget: what will be erased, with a confirm and a cancel button."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await w.tx.customer(user.id)
            if customer is None:
                await w.send(self._nothing(user))
                return True
            screens, locale = self._screens, customer.language
            message = screens.to(customer, "forget_ask")
            await w.send(
                screens.with_buttons(
                    message,
                    (screens.label(locale, "forget_yes"), ForgetChoice("yes")),
                    (screens.label(locale, "forget_no"), ForgetChoice("no")),
                )
            )
        return True

    async def answer(self, inbound_id: str, user: ChatUser, choice: ForgetChoiceValue) -> bool:
        """The confirm (`yes`) or cancel button; a click after the erasure finds nothing left to erase."""
        erased = False
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await w.tx.customer(user.id)
            if customer is None:
                await w.send(self._nothing(user))
            elif choice != "yes":
                await w.send(self._screens.to(customer, "forget_cancelled"))
            else:
                await erase(w, customer, self._alerts)
                erased = True
                # Queued after the erasure, so it is not dropped with their other messages; it names nobody, and
                # its row forgets their chat once sent.
                done = self._screens.text(None, user.id, customer.language, "forget_done")
                await w.post("telegram", str(user.id), {FORGET_CHAT: True, **done.to_payload()})
        if erased:
            await self._units.store.scrub()
        return True

    def _nothing(self, user: ChatUser) -> Outgoing:
        locale = normalize_locale(user.language_code, self._units.program.program.default_locale)
        return self._screens.text(None, user.id, locale, "forget_nothing")
