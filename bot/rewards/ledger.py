"""Two-sided rewards: granted with a referral, issued when earned (on arrival or on conversion), held while a
flagged referral waits for a manager, tier bonuses at milestones, and the rep's task for a manual reward.

Every step checks the reward's current status first, so a replayed event or a second click never issues, hands
out a code or tells anyone twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.core.ids import new_id
from bot.core.models import Customer, Referral, Reward, Status
from bot.core.notifications import reward_notice
from bot.core.unit_of_work import Units, Work
from bot.program.sections import RewardRule
from bot.rewards.coupons import take_code

log = logging.getLogger(__name__)


def new_reward(
    referral_id: str, person: Customer, role: str, rule: RewardRule, now: datetime, status: str, tier: int | None = None
) -> Reward:
    return Reward(
        id=new_id(),
        referral_id=referral_id,
        customer_id=person.telegram_id,
        role=role,  # type: ignore[arg-type]
        description=rule.get(person.language),
        status=status,
        created_at=now,
        updated_at=now,
        kind=rule.kind,
        earned_on="conversion" if tier is not None else rule.earned_on,
        amount=rule.amount,
        currency=rule.currency if rule.kind == "credit" else None,
        pool=rule.pool if rule.kind == "coupon" else None,
        tier=tier,
        cost=rule.worth,
    )


class Rewards:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = units.screens
        self._incentives = units.program.incentives

    def rule(self, referrer: Customer, role: str) -> RewardRule:
        """Both sides' rewards follow the referrer's segment: the friend is always new, the advocate is not."""
        return self._incentives.for_side(referrer.segment, role)

    async def grant(self, w: Work, referral: Referral, referrer: Customer, friend: Customer | None) -> None:
        """A new referral's rewards: held while it is flagged, issued now when earned on arrival, else pending."""
        sides = [("referrer", referrer)] + ([("friend", friend)] if friend is not None else [])
        for role, person in sides:
            await self._grant(w, referral, referrer, role, person)

    async def grant_friend(self, w: Work, referral: Referral, referrer: Customer, friend: Customer) -> None:
        """A friend referred directly reached the bot: their incentive, as if they had come through the link."""
        await self._grant(w, referral, referrer, "friend", friend)

    async def _grant(self, w: Work, referral: Referral, referrer: Customer, role: str, person: Customer) -> None:
        rule = self.rule(referrer, role)
        reward = new_reward(referral.id, person, role, rule, w.now, "held" if referral.flagged else "pending")
        await w.tx.insert_reward(reward)
        if not referral.flagged and rule.earned_on == "arrival":
            # The welcome and the thank-you already name a plain text reward; anything else needs its details.
            await self.issue(w, reward, announce=reward.kind != "text")

    async def held(self, w: Work, referral_id: str) -> bool:
        return any(reward.status == "held" for reward in await w.tx.rewards_of(referral_id))

    async def converted(self, w: Work, referral: Referral) -> None:
        """The friend became a customer: pending rewards are issued (held ones wait), then tiers are checked."""
        for reward in await w.tx.rewards_of(referral.id):
            if reward.status == "pending":
                await self.issue(w, reward, announce=reward.kind != "text")
        await self._tiers(w, referral)

    async def revoke(self, w: Work, referral_id: str) -> None:
        for reward in await w.tx.rewards_of(referral_id):
            if reward.status in ("held", "pending", "owed"):
                await w.tx.update_reward(reward.id, status="revoked", updated_at=w.now)

    async def issue(self, w: Work, reward: Reward, announce: bool = True) -> None:
        """Fulfil a reward now: a coupon takes its code (or waits as owed), a manual one becomes a rep's task."""
        code = None
        if reward.kind == "coupon":
            code = await take_code(w, self._units, reward)
        status = "owed" if reward.kind == "coupon" and code is None else "issued"
        issued = replace(reward, status=status, code=code, issued_at=w.now if status == "issued" else None)
        await w.tx.update_reward(reward.id, status=status, code=code, issued_at=issued.issued_at, updated_at=w.now)
        await w.tx.log_event("reward." + status, w.now, subject=reward.id, reward_kind=reward.kind, code=code)
        if status == "issued":
            await self._units.webhooks.reward_issued(w, issued)
        if reward.kind == "manual":
            await self._task(w, issued)
        person = await w.tx.customer(reward.customer_id)
        if announce and person is not None:
            notice = self._screens.to(person, "reward_issued", reward=issued, money=money(issued))
            await w.send(notice, merge=reward_notice(person))

    async def settle_owed(self, inbound_id: str, pool: str) -> int:
        """New codes arrived: rewards that waited for one get theirs, oldest first. Returns how many."""
        settled = 0
        async with self._units.once(inbound_id) as w:
            if w is None:
                return 0
            for reward in await w.tx.owed_rewards(pool):
                if await w.tx.coupons_left(pool) == 0:
                    break
                await self.issue(w, reward)
                settled += 1
        return settled

    async def _task(self, w: Work, reward: Reward) -> None:
        """A manual reward is a task in the alert channel, rendered when it is sent, with a Done button."""
        if self._units.alerts is None:
            log.warning("manual reward %s issued, but no Slack team is set up to fulfil it", reward.id)
            return
        payload = {"kind": "reward_task", "reward_id": reward.id}
        await w.post("slack", self._units.alerts.team.alert_channel, payload, key=f"reward_task:{reward.id}")

    async def _tiers(self, w: Work, referral: Referral) -> None:
        """Every tier the referrer has now reached and not been rewarded for grants its bonus, once."""
        referrer = await w.tx.customer(referral.referrer_id)
        assert referrer is not None  # a referral's referrer is a foreign key
        ladder = self._incentives.tiers_for(referrer.segment)  # the inner circle may climb a ladder of its own
        if not ladder:
            return
        conversions = sum(1 for r in await w.tx.referrals_by(referrer.telegram_id) if r.status == Status.CONVERTED)
        rewarded = {r.tier for r in await w.tx.rewards_for(referrer.telegram_id) if r.tier is not None}
        held = await self.held(w, referral.id)
        for tier in ladder:
            if tier.conversions > conversions or tier.conversions in rewarded:
                continue
            bonus = new_reward(
                referral.id, referrer, "referrer", tier.bonus, w.now, "held" if held else "pending", tier.conversions
            )
            await w.tx.insert_reward(bonus)
            await w.tx.log_event("reward.tier", w.now, subject=bonus.id, tier=tier.conversions)
            name = tier.name.get(referrer.language)
            await w.send(self._screens.to(referrer, "reward_tier", reward=bonus, tier_name=name, held=held))
            if not held:
                await self.issue(w, bonus, announce=bonus.kind != "text")

    # --- Slack: a manager reviews held rewards, a rep marks a manual reward done ---------------------------

    def review_refusal(self, referral: Referral | None, locale: str | None = None) -> str | None:
        """Why a manager's Approve / Reject cannot apply to this referral; None when it can. The review queue
        (bot/team/review.py) asks before it decides; only managers get that far (handlers/slack/managers.py)."""
        if self._units.alerts is None:  # no Slack team: nobody is a manager
            return self._screens.team("reward_refused", locale, reason="not_manager")
        if referral is None:
            return self._screens.team("refused_missing", locale)
        if referral.review is not None:
            return self._screens.team("reward_refused", locale, reason="reviewed", referral=referral)
        if not referral.flagged or referral.status == Status.REJECTED:
            return self._screens.team("reward_refused", locale, reason="not_held")
        return None

    async def settle_review(self, w: Work, referral: Referral, decision: str, actor: str) -> int:
        """Approved releases the referral's held rewards, rejected revokes them, and each person is told.
        Returns how many rewards changed."""
        await w.tx.update_referral(referral.id, review=decision, reviewed_by=actor, reviewed_at=w.now, updated_at=w.now)
        changed = 0
        for reward in await w.tx.rewards_of(referral.id):
            if reward.status != "held":
                continue
            changed += 1
            if decision == "rejected":
                await w.tx.update_reward(reward.id, status="revoked", updated_at=w.now)
                await self._tell(w, reward, "reward_revoked")
            elif reward.earned_on == "arrival" or referral.status == Status.CONVERTED:
                await self.issue(w, reward)  # they were told it was on hold: tell them it is theirs now
            else:
                await w.tx.update_reward(reward.id, status="pending", updated_at=w.now)
        await w.tx.log_event(f"reward.{decision}", w.now, actor=f"slack:{actor}", subject=referral.id, rewards=changed)
        return changed

    async def done(self, inbound_id: str, reward_id: str, actor: str, channel: str, ts: str) -> str | None:
        """A rep sent a manual reward: the task shows who did it, and the customer is told."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return None
            reward = await w.tx.reward(reward_id)
            if reward is None or reward.fulfilled_at is not None or reward.status != "issued":
                member = await w.tx.team_member(actor)  # told privately: in their language, where known
                locale = member.locale if member is not None else None
                return self._screens.team("reward_refused", locale, reason="done", reward=reward)
            await w.tx.update_reward(reward.id, fulfilled_at=w.now, fulfilled_by=actor, updated_at=w.now)
            await w.tx.log_event("reward.fulfilled", w.now, actor=f"slack:{actor}", subject=reward.id)
            update: dict[str, Any] = {"kind": "reward_task_update", "reward_id": reward.id, "ts": ts}
            await w.post("slack", channel, update)
            await self._tell(w, reward, "reward_fulfilled")
        return None

    async def _tell(self, w: Work, reward: Reward, template: str) -> None:
        person = await w.tx.customer(reward.customer_id)
        if person is not None:
            await w.send(self._screens.to(person, template, reward=reward, money=money(reward)))


def money(reward: Reward) -> str | None:
    """A credit's amount as people read it, e.g. "10.00 EUR"."""
    return f"{reward.amount:.2f} {reward.currency}" if reward.amount is not None and reward.currency else None
