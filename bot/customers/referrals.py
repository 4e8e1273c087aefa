"""The customer loop: personal links, sharing, friends arriving through a link, and the thank-yous."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.core.buttons import FriendConsentValue
from bot.core.codes import parse_payload
from bot.core.ids import new_id
from bot.core.models import ChatUser, Customer, Referral, Segment, Status
from bot.core.subjects import friend_of, person
from bot.core.unit_of_work import Units, Work
from bot.core.validation import shared_phone
from bot.customers.advocate_links import AdvocateLinks
from bot.customers.attribution import move_credit, source_of, takes_credit, thank
from bot.customers.eligibility import Friend, refusal
from bot.customers.friend_consent import FriendConsents
from bot.customers.paths import FriendPaths
from bot.customers.prompts import prompt_of, with_prompt
from bot.program.texts import InviteCard
from bot.rewards.ledger import Rewards
from bot.team.review import hold
from bot.team.sla import schedule_claim_timers
from messages import normalize_locale

log = logging.getLogger(__name__)
UNKNOWN_CODES_PER_HOUR = 5


class ReferralService:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = units.screens
        self._program = units.program
        self._rewards = Rewards(units)
        self._consents = FriendConsents(units)
        self._paths = FriendPaths(units, self._rewards, self._consents)
        self._advocates = AdvocateLinks(units)

    def _locale(self, user: ChatUser) -> str:
        return normalize_locale(user.language_code, self._program.program.default_locale)

    async def start(self, inbound_id: str, user: ChatUser, payload: str | None) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            await self._start(w, user, (payload or "").strip())
        return True

    async def _start(self, w: Work, user: ChatUser, payload: str) -> None:
        if AdvocateLinks.carries(payload):  # an imported advocate's e-mailed personal link
            bound = await self._advocates.open(w, user, payload)
            if bound is not None:
                await w.send(self._screens.welcome(bound))
                return
            payload = ""
            await w.send(self._screens.text(None, user.id, self._locale(user), "advocate_link_spent"))
        if payload and await self._guessing(w, user):
            payload = ""  # someone trying codes: no code counts for them for a while, found or not
        parsed = parse_payload(payload) if payload else None
        referrer = await w.tx.customer_by_code(parsed.code) if parsed else None
        if payload and referrer is None:
            # Unknown or malformed: the ordinary welcome, saying nothing about codes that exist.
            await w.tx.log_event("deeplink.unknown", w.now, actor=f"tg:{user.id}", payload=payload[:64])
        known = await w.tx.customer(user.id)
        if known is not None and known.unreachable_at is not None:  # they wrote to us: Telegram reaches them now
            await w.tx.update_customer(user.id, unreachable_at=None, updated_at=w.now)
            known = replace(known, unreachable_at=None)
        typed = await self._paths.named(w, user) if known is None else None
        if typed is not None:  # a friend a customer named with /refer: their referral, whatever link they opened
            await self._paths.join(w, user, typed, referrer, parsed.channel if parsed and referrer else "direct")
            return
        verdict = await refusal(w.tx, referrer, Friend(telegram_id=user.id)) if referrer else None
        if referrer is not None and parsed is not None:
            if verdict == "refer_self":
                await w.send(self._screens.to(referrer, "own_link"))
                await w.send(self._screens.welcome(referrer, returning=True))
                return
            if verdict is None:
                await self._arrival(w, user, referrer, parsed.channel)
                return
            if known is not None:
                await self._known_arrival(w, known, referrer, parsed.channel)
                return
        customer = known or await self._units.register(
            w, user, Segment(self._program.segments.default), referred_by=None
        )
        await w.send(self._screens.welcome(customer, returning=known is not None))

    async def _guessing(self, w: Work, user: ChatUser) -> bool:
        """Codes are 71 random bits; still, a person who keeps opening unknown codes is stopped."""
        tried = await w.tx.count_events("deeplink.unknown", f"tg:{user.id}", w.now - timedelta(hours=1))
        if tried < UNKNOWN_CODES_PER_HOUR:
            return False
        await w.tx.log_event("deeplink.throttled", w.now, actor=f"tg:{user.id}")
        log.warning("tg:%s opened %d unknown codes this hour; ignoring their codes", user.id, tried)
        return True

    async def _arrival(self, w: Work, user: ChatUser, referrer: Customer, channel: str) -> None:
        friend = await self._units.register(
            w, user, Segment(self._program.segments.referred), referred_by=referrer.telegram_id
        )
        flagged = await self.too_fast(w, referrer)
        referral = Referral(
            id=new_id(),
            referrer_id=referrer.telegram_id,
            friend_telegram_id=friend.telegram_id,
            friend_name=friend.display_name,
            source=source_of(channel),  # an inline or kit card, or a plain link
            channel=channel,
            status=Status.HELD if flagged else Status.NEW,
            flagged=flagged,
            flag_reason="velocity" if flagged else None,
            variant=referrer.variant,
            created_at=w.now,
            updated_at=w.now,
        )
        # Welcome and thanks first: a reward issued on arrival (a coupon code) follows them in each chat.
        await w.send(self._screens.friend_welcome(friend, referrer), about=[person(referrer.telegram_id)])
        await self._thank(w, referrer, friend, held=flagged)
        await self.record(w, referral, referrer, friend)

    async def record(self, w: Work, referral: Referral, referrer: Customer, friend: Customer | None) -> None:
        """Store a new referral with its rewards and its audit event."""
        referral = await with_prompt(w, referral, self._program.attribution.window)
        await w.tx.insert_referral(referral)
        await self.grant_rewards(w, referral, referrer, friend)
        await w.tx.log_event(
            "referral.created",
            w.now,
            actor=f"tg:{referrer.telegram_id if friend is None else friend.telegram_id}",
            subject=referral.id,
            referrer=referrer.telegram_id,
            source=referral.source,
            channel=referral.channel,
            flagged=referral.flagged,
        )
        await self._units.webhooks.referral_created(w, referral)
        if referral.status == Status.HELD:  # the managers' review queue, not the channel: no alert, no SLA yet
            log.warning("referral %s held: referrer %s passed the velocity limit", referral.id, referrer.telegram_id)
            await hold(w, self._units, referral, referrer)
        elif self._units.alerts is not None:
            await self._units.alerts.post(w, referral.id)
            await schedule_claim_timers(w, self._units, referral.id)

    async def too_fast(self, w: Work, referrer: Customer) -> bool:
        """More arrivals this hour than the program allows: the next one waits for review."""
        recent = await w.tx.count_referrals_since(referrer.telegram_id, w.now - timedelta(hours=1))
        return recent >= self._program.limits.velocity_per_hour

    async def grant_rewards(self, w: Work, referral: Referral, referrer: Customer, friend: Customer | None) -> None:
        """Two-sided: the referrer's reward and the friend's incentive, held while a referral is under review."""
        await self._rewards.grant(w, referral, referrer, friend)

    async def _thank(self, w: Work, referrer: Customer, friend: Customer, held: bool) -> None:
        await thank(self._units, w, self._rewards, referrer, friend, held)

    async def _known_arrival(self, w: Work, friend: Customer, referrer: Customer, channel: str) -> None:
        """Someone we know opened a link: never a second referral; the attribution rule may move the credit."""
        existing = await w.tx.referral_for_friend(friend.telegram_id)
        attribution = self._program.attribution
        movable = (
            existing is not None
            and existing.referrer_id != referrer.telegram_id
            and takes_credit(attribution, existing, w.now)  # the window: see bot/customers/attribution.py
        )
        if existing is not None and movable:
            prompt = await prompt_of(w, referrer.telegram_id, attribution.window)  # the new referrer's ask, if any
            actor = f"tg:{friend.telegram_id}"
            await move_credit(w, self._rewards, existing, referrer, channel, w.now, actor, prompted_by=prompt)
            await self._thank(w, referrer, friend, held=existing.flagged)
        else:
            await w.tx.log_event(
                "arrival.known", w.now, actor=f"tg:{friend.telegram_id}", referrer=referrer.telegram_id
            )
        await w.send(self._screens.welcome(friend, returning=True))

    async def friend_consent(self, inbound_id: str, user: ChatUser, choice: FriendConsentValue) -> bool:
        """A friend referred directly answers whether they agreed to be contacted."""
        return await self._consents.answer(inbound_id, user, choice)

    async def qr(self, inbound_id: str, user: ChatUser, web: bool = False) -> bool:
        """The QR code of the customer's link, or of their web link (the landing page) when `web`."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.insert_share_event(customer.telegram_id, "qr_web" if web else "qr", None, w.now)
            await w.send(self._screens.qr(customer, web))
        return True

    async def my_referrals(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            referrals = await w.tx.referrals_by(customer.telegram_id)
            rewards = await w.tx.rewards_for(customer.telegram_id)
            await w.send(
                self._screens.my_referrals(customer, referrals, rewards), about=[friend_of(r.id) for r in referrals]
            )
        return True

    async def invite_card(self, user: ChatUser) -> InviteCard | None:
        """The card for an inline share, or None for someone who has not started the bot yet."""
        async with self._units.store.reading() as tx:
            customer = await tx.customer(user.id)
        return self._screens.invite_card(customer) if customer else None

    def start_prompt(self, user: ChatUser) -> str:
        """The inline-mode button that invites someone who has not started the bot yet."""
        return self._screens.label(self._locale(user), "inline_start")

    async def shared_inline(self, inbound_id: str, user: ChatUser, result_id: str) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            if await w.tx.customer(user.id) is not None:
                await w.tx.insert_share_event(user.id, "inline", result_id[:64], w.now)
        return True

    async def contact_shared(self, inbound_id: str, user: ChatUser, phone: str, owner_id: int | None) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            if owner_id != user.id:
                await w.send(self._screens.to(customer, "contact_not_own"))
                return True  # committed: the refusal is the reply
            phone = shared_phone(phone)  # E.164, as a customer who typed it with /refer stored it
            await w.tx.update_customer(user.id, phone=phone, contact_consent_at=w.now, updated_at=w.now)
            referral = await self._paths.phone_shared(w, customer, phone)  # one referral, if two named them
            if referral is not None:
                await w.tx.update_referral(
                    referral.id,
                    friend_contact=phone,
                    friend_contact_kind="phone",
                    friend_consent_at=w.now,
                    friend_confirmed_at=w.now,  # their own number, shared by themselves: their own word
                    updated_at=w.now,
                )
            if referral is not None and referral.status != Status.HELD and self._units.alerts is not None:
                await self._units.alerts.refresh(w, referral.id)  # a held referral's alert shows it once approved
                note = self._screens.team("contact_shared", friend=customer.display_name, phone=phone)
                await self._units.alerts.thread(w, referral.id, note)
            await w.tx.log_event(
                "contact.consented", w.now, actor=f"tg:{user.id}", subject=referral.id if referral else None
            )
            saved = self._screens.to(customer, "contact_saved")
            await w.send(self._screens.remove_keyboard(saved))
        return True
