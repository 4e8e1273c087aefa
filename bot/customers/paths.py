"""One referrer per friend across paths. A friend a customer named with /refer (by @username or phone number) who
later reaches the bot, through someone's link or not, is the same person: never a second referral.

- By @username, when they first start the bot: the referral that named them becomes theirs, and the attribution rule
  (bot/customers/attribution.py) decides whether the link they opened takes the credit.
- By phone number, when they share theirs: the referral their link made and the one that typed their number are
  merged. The one with their Telegram chat stays, credited by the same rule; the other is closed as a duplicate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.models import ChatUser, Customer, Referral, Segment, Status
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from bot.core.validation import username_contact
from bot.customers.attribution import OPEN_STATUSES, later_wins, move_credit, takes_credit, thank
from bot.customers.friend_consent import FriendConsents, unconfirmed
from bot.customers.prompts import prompt_of
from bot.rewards.ledger import Rewards

WAITING = OPEN_STATUSES | {Status.HELD}


def waiting(referral: Referral | None) -> bool:
    """A referral by contact whose friend has not reached the bot yet (nor said no)."""
    return (
        referral is not None
        and referral.friend_telegram_id is None
        and referral.friend_declined_at is None
        and referral.status in WAITING
    )


class FriendPaths:
    def __init__(self, units: Units, rewards: Rewards, consents: FriendConsents) -> None:
        self._units = units
        self._screens = units.screens
        self._rewards = rewards
        self._consents = consents

    async def named(self, w: Work, user: ChatUser) -> Referral | None:
        """The referral that named this Telegram user by @username and waits for them."""
        if not user.username:
            return None
        referral = await w.tx.referral_by_contact(username_contact(user.username))
        return referral if waiting(referral) else None

    async def join(self, w: Work, user: ChatUser, typed: Referral, link: Customer | None, channel: str) -> None:
        """A friend named by @username starts the bot, through `link`'s link (or none): welcomed as that referral's
        friend, asked to confirm their consent, and the team told who has the credit."""
        units = self._units
        named_by = await w.tx.customer(typed.referrer_id)
        assert named_by is not None  # a referral's referrer is a foreign key
        moved = link is not None and link.telegram_id != named_by.telegram_id
        moved = moved and takes_credit(units.program.attribution, typed, w.now)
        holder = link if moved and link is not None else named_by
        segment = Segment(units.program.segments.referred)
        friend = await units.register(w, user, segment, referred_by=holder.telegram_id)
        await w.tx.update_referral(typed.id, friend_telegram_id=friend.telegram_id, updated_at=w.now)
        if moved:
            prompt = await prompt_of(w, holder.telegram_id, units.program.attribution.window)  # what prompted them
            await move_credit(
                w, self._rewards, typed, holder, channel, w.now, actor=f"tg:{friend.telegram_id}", prompted_by=prompt
            )
        joined = replace(typed, friend_telegram_id=friend.telegram_id, referrer_id=holder.telegram_id)
        await w.send(self._screens.friend_welcome(friend, holder), about=[person(holder.telegram_id)])
        if moved:
            await thank(units, w, self._rewards, holder, friend, held=typed.flagged)
        await self._rewards.grant_friend(w, joined, holder, friend)
        if unconfirmed(typed):
            await self._consents.ask(w, friend, typed, named_by)
        await w.tx.log_event(
            "referral.friend_joined", w.now, actor=f"tg:{friend.telegram_id}", subject=typed.id, moved=moved
        )
        elsewhere = link is not None and link.telegram_id != named_by.telegram_id
        await self._tell_team(
            w,
            joined,
            "friend_joined",
            friend=friend.display_name,
            named_by=named_by,
            via=link if elsewhere else None,
            moved=moved,
        )

    async def phone_shared(self, w: Work, friend: Customer, phone: str) -> Referral | None:
        """The friend shared their own number: their referral, after merging the one that typed that number."""
        own = await w.tx.referral_for_friend(friend.telegram_id)
        typed = await w.tx.referral_by_contact(phone)
        if own is None or typed is None or not waiting(typed):
            return own
        named_by = await w.tx.customer(typed.referrer_id)
        assert named_by is not None  # a referral's referrer is a foreign key
        moved = self._typed_wins(own, typed)
        if moved:
            actor = f"tg:{friend.telegram_id}"
            since = typed.credited_since  # the /refer's own moment: its window runs from then
            await move_credit(w, self._rewards, own, named_by, "direct", since, actor, prompted_by=typed.prompted_by)
        if typed.friend_note and not own.friend_note:
            await w.tx.update_referral(own.id, friend_note=typed.friend_note, updated_at=w.now)
        await self._close_duplicate(w, typed, own)
        kept = await w.tx.referral(own.id)
        assert kept is not None
        holder = await w.tx.customer(kept.referrer_id)
        about = {"friend": friend.display_name, "named_by": named_by, "referrer": holder, "moved": moved}
        await self._tell_team(w, kept, "merged_kept", **about)
        await self._tell_team(w, typed, "merged_closed", **about)
        return kept

    def _typed_wins(self, own: Referral, typed: Referral) -> bool:
        """The attribution rule between the two touches, in the order they happened. Only an open referral takes
        the credit, and only from an open one."""
        if own.status not in OPEN_STATUSES or typed.status not in OPEN_STATUSES:
            return False
        if own.referrer_id == typed.referrer_id:
            return False
        rule = self._units.program.attribution
        if typed.credited_since <= own.credited_since:
            return not later_wins(rule, typed.credited_since, own.credited_since)
        return later_wins(rule, own.credited_since, typed.credited_since)

    async def _close_duplicate(self, w: Work, typed: Referral, kept: Referral) -> None:
        changes: dict[str, Any] = {"status": Status.REJECTED.value, "rejected_at": w.now, "updated_at": w.now}
        await w.tx.update_referral(typed.id, **changes)
        await w.tx.cancel_timers(typed.id, w.now)
        await self._rewards.revoke(w, typed.id)
        await self._units.webhooks.status_changed(w, replace(typed, **changes), typed.status, "merge")
        await w.tx.log_event("referral.merged", w.now, subject=typed.id, into=kept.id)

    async def _tell_team(self, w: Work, referral: Referral, template: str, **context: Any) -> None:
        alerts = self._units.alerts
        if alerts is None or referral.status == Status.HELD:  # a held referral has no alert yet
            return
        await alerts.refresh(w, referral.id)
        rule = self._units.program.attribution
        text = self._screens.team(
            template, last_touch=rule.model == "last_touch", window_days=rule.window_days, **context
        )
        named = [person(c.telegram_id) for c in context.values() if isinstance(c, Customer)]  # forgetting finds them
        await alerts.thread(w, referral.id, text, about=named)
