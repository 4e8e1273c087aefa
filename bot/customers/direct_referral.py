"""Refer a friend directly: name, contact, an optional note, then the friend's consent.

Answers are kept in a draft between messages; the referral itself is written only once the
customer confirms that the friend agreed to be contacted, so a cancelled or abandoned
conversation leaves no referral behind.
"""

from __future__ import annotations

from bot.core.buttons import DirectChoice, DirectChoiceValue
from bot.core.ids import new_id
from bot.core.models import DRAFT_TTL, ChatUser, Customer, Draft, Referral, Source, Status
from bot.core.subjects import friend_of
from bot.core.unit_of_work import Units, Work
from bot.core.validation import Invalid, check_contact, check_name, check_note
from bot.customers.eligibility import Friend, known_as, refusal
from bot.customers.referrals import ReferralService


class DirectReferrals:
    def __init__(self, units: Units, referrals: ReferralService) -> None:
        self._units = units
        self._screens = units.screens
        self._referrals = referrals

    async def begin(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.save_draft(Draft(user.id, "name", {}, w.now))
            await w.send(self._screens.to(customer, "refer_ask_name"))
        return True

    async def cancel(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.delete_draft(user.id)
            await w.send(self._screens.to(customer, "refer_cancelled"))
        return True

    async def answer(self, inbound_id: str, user: ChatUser, text: str) -> bool:
        """A typed message: the next answer of an open draft, or a pointer to the menu."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            draft = await w.tx.draft(user.id)
            if draft is None or w.now - draft.updated_at > DRAFT_TTL:
                await self._free_text(w, customer, text)
                return True
            await self._step(w, customer, draft, text)
        return True

    async def _free_text(self, w: Work, customer: Customer, text: str) -> None:
        """A referred friend's message goes to the team's alert thread; anyone else gets the menu (so does a friend
        whose referral waits for a manager's review: the team has no alert for it yet)."""
        referral = await w.tx.referral_for_friend(customer.telegram_id)
        alerts = self._units.alerts
        if referral is None or alerts is None or referral.status == Status.HELD or not text.strip():
            await w.send(self._screens.welcome(customer, returning=True))
            return
        reply = self._screens.team("friend_reply", friend=customer.display_name, text=text)
        await alerts.thread(w, referral.id, reply)
        await w.tx.log_event("referral.friend_reply", w.now, actor=f"tg:{customer.telegram_id}", subject=referral.id)
        await w.send(self._screens.to(customer, "friend_reply_sent"))

    async def _step(self, w: Work, customer: Customer, draft: Draft, text: str) -> None:
        screens, locale, chat = self._screens, customer.language, customer.telegram_id
        checks = {"name": check_name, "contact": check_contact, "note": check_note}
        if draft.step not in checks:
            await self._ask_consent(w, customer, draft)
            return
        result = checks[draft.step](text)
        if isinstance(result, Invalid):
            await w.send(screens.to(customer, result.reason))
            return
        data = dict(draft.data)
        if draft.step == "name":
            data["name"], data["id"] = str(result), new_id()  # the referral's id to be: whose name the texts carry
            await w.tx.save_draft(Draft(chat, "contact", data, w.now))
            await w.send(screens.to(customer, "refer_ask_contact", friend_name=data["name"]), about=_named(data))
        elif draft.step == "contact":
            data["contact"], data["kind"] = result.value, result.kind  # type: ignore[union-attr]
            if await self._refused(w, customer, data):
                return
            await w.tx.save_draft(Draft(chat, "note", data, w.now))
            ask = screens.to(customer, "refer_ask_note", friend_name=data["name"])
            await w.send(screens.with_buttons(ask, (screens.label(locale, "skip"), DirectChoice("skip"))), _named(data))
        else:
            data["note"] = str(result)
            await self._ask_consent(w, customer, Draft(chat, "consent", data, w.now))

    async def _ask_consent(self, w: Work, customer: Customer, draft: Draft) -> None:
        await w.tx.save_draft(draft)
        screens, locale = self._screens, customer.language
        ask = screens.to(customer, "refer_confirm", draft=draft.data)
        await w.send(
            screens.with_buttons(
                ask,
                (screens.label(locale, "consent_yes"), DirectChoice("yes")),
                (screens.label(locale, "consent_no"), DirectChoice("no")),
            ),
            about=_named(draft.data),
        )

    async def button(self, inbound_id: str, user: ChatUser, choice: DirectChoiceValue) -> bool:
        """skip (the note), yes (the friend agreed) or no (they did not)."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            draft = await w.tx.draft(user.id)
            if draft is None:
                await w.send(self._screens.to(customer, "refer_expired"))
            elif choice == "skip" and draft.step == "note":
                await self._ask_consent(w, customer, Draft(user.id, "consent", {**draft.data, "note": ""}, w.now))
            elif choice == "yes" and draft.step == "consent":
                await self._create(w, customer, draft)
            elif choice == "no" and draft.step == "consent":
                await w.tx.delete_draft(user.id)
                await w.send(self._screens.to(customer, "refer_no_consent"))
        return True

    async def _refused(self, w: Work, customer: Customer, data: dict[str, str]) -> bool:
        """The link path's rules (not themselves, not a customer, one referrer per friend): a refusal ends the
        conversation at once, before the note and the consent are asked for nothing."""
        friend = Friend(contact=data["contact"], contact_kind=data["kind"])
        reason = await refusal(w.tx, customer, friend)
        if reason is None:
            return False
        await w.tx.delete_draft(customer.telegram_id)
        await w.tx.log_event("referral.refused", w.now, actor=f"tg:{customer.telegram_id}", reason=reason)
        about = [*_named(data), *await known_as(w.tx, friend)]  # and whose name it is, when the friend is known
        await w.send(self._screens.to(customer, reason, friend_name=data["name"]), about=about)
        return True

    async def _create(self, w: Work, customer: Customer, draft: Draft) -> None:
        await w.tx.delete_draft(customer.telegram_id)
        data = draft.data
        if await self._refused(w, customer, data):  # again: the friend may have joined while the draft waited
            return
        flagged = await self._referrals.too_fast(w, customer)
        referral = Referral(
            id=data.get("id") or new_id(),
            referrer_id=customer.telegram_id,
            source=Source.DIRECT,
            channel="direct",
            status=Status.HELD if flagged else Status.NEW,
            created_at=w.now,
            updated_at=w.now,
            friend_name=data["name"],
            friend_contact=data["contact"],
            friend_contact_kind=data["kind"],
            friend_note=data.get("note") or None,
            friend_consent_at=w.now,
            flagged=flagged,
            flag_reason="velocity" if flagged else None,
            variant=customer.variant,
        )
        await self._referrals.record(w, referral, customer, friend=None)
        done = self._screens.to(customer, "refer_done", friend_name=data["name"], held=flagged)
        await w.send(done, about=[friend_of(referral.id)])


def _named(data: dict[str, str]) -> list[str]:
    """The friend a draft names, by the id their referral will have (a draft begun before drafts kept one: none)."""
    return [friend_of(data["id"])] if "id" in data else []
