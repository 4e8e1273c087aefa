"""The managers' review queue. A referral past the velocity limit is held there: no alert in the channel and no SLA
timers, so a burst neither floods the reps nor piles up nudges and escalations. A manager approves it, and it then
reaches the team like any other (its alert, and speed-to-lead timed from the approval), or rejects it, and it is
closed without the team ever seeing it. Its rewards stay held until then, as the referrer was told.

The managers hear of a burst once, when a referrer's first referral is held, not once per held referral; the queue
itself (`/referrals review`, and a line on the Home tab) shows how many wait.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.models import Customer, Referral, Status
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from bot.rewards.ledger import Rewards
from bot.team.alerts import Alerts, queue_home_refresh
from bot.team.languages import reader_locale
from bot.team.sla import schedule_claim_timers

DECISIONS = {"approve": "approved", "reject": "rejected"}
BURST_EVENT = "referral.velocity_burst"


async def hold(w: Work, units: Units, referral: Referral, referrer: Customer) -> None:
    """A new referral held for review (already stored): the managers are told if it starts the referrer's burst."""
    alerts = units.alerts
    if alerts is None:
        return
    await queue_home_refresh(w, alerts.team)  # the Home tab counts what waits
    if await w.tx.count_held(referrer.telegram_id) > 1:
        return  # the burst is under way: the managers were told with its first referral
    limit = units.program.limits.velocity_per_hour
    for manager in sorted(alerts.team.managers):  # a DM each, in that manager's language
        locale = await reader_locale(w, units.screens, manager)
        text = units.screens.team("velocity_burst", locale, referrer=referrer, limit=limit)
        await alerts.direct(w, manager, text, about=[person(referrer.telegram_id)])  # names the referrer
    await w.tx.log_event(BURST_EVENT, w.now, actor=f"tg:{referrer.telegram_id}", subject=referral.id)


@dataclass(frozen=True)
class Reviewed:
    """What the deciding manager is told privately: why nothing changed, or what their decision did."""

    refused: str | None = None
    done: str | None = None


class ReviewQueue:
    """Approve / Reject by a manager, on a held referral (from the queue) or on the held rewards of one flagged
    before the queue existed (from its alert card)."""

    def __init__(self, units: Units, alerts: Alerts) -> None:
        self._units = units
        self._alerts = alerts
        self._screens = units.screens
        self._rewards = Rewards(units)

    async def decide(self, inbound_id: str, referral_id: str, action: str, actor: str) -> Reviewed:
        """approve or reject; a replay of a click that worked changes nothing and says nothing."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return Reviewed()
            referral = await w.tx.referral(referral_id)
            locale = await reader_locale(w, self._screens, actor)  # told privately: in their language
            refusal = self._rewards.review_refusal(referral, locale)
            if refusal is not None or referral is None:
                return Reviewed(refused=refusal)
            if referral.status != Status.HELD:
                await self._settle_on_card(w, referral, DECISIONS[action], actor)
                return Reviewed()  # the card shows the decision
            await self._release(w, referral, DECISIONS[action], actor)
            friend = await self._friend_name(w, referral) or self._screens.team_label("slack_the_friend", locale)
        channel, decision = self._alerts.team.alert_channel, DECISIONS[action]
        done = self._screens.team("review_decided", locale, decision=decision, friend=friend, channel=channel)
        return Reviewed(done=done)

    @staticmethod
    async def _friend_name(w: Work, referral: Referral) -> str | None:
        friend = await w.tx.customer(referral.friend_telegram_id) if referral.friend_telegram_id else None
        return (friend.display_name if friend else None) or referral.friend_name

    async def _release(self, w: Work, referral: Referral, decision: str, actor: str) -> None:
        """Out of the queue: approved, it reaches the team now; rejected, it is closed unseen."""
        target = Status.NEW if decision == "approved" else Status.REJECTED
        changes: dict[str, Any] = {"status": target.value, "updated_at": w.now}
        if target == Status.REJECTED:
            changes["rejected_at"] = w.now
        await w.tx.update_referral(referral.id, **changes)
        count = await self._rewards.settle_review(w, referral, decision, actor)
        await w.tx.log_event(
            "referral.status",
            w.now,
            actor=f"slack:{actor}",
            subject=referral.id,
            previous=referral.status,
            status=target.value,
        )
        after = replace(referral, **changes, review=decision, reviewed_by=actor, reviewed_at=w.now)
        await self._units.webhooks.status_changed(w, after, referral.status, actor)
        if target == Status.REJECTED:
            await queue_home_refresh(w, self._alerts.team)
            return
        await self._alerts.post(w, referral.id)
        await schedule_claim_timers(w, self._units, referral.id)  # speed to lead counts from now
        audit = self._screens.team("reward_review_audit", decision=decision, actor=actor, count=count)
        await self._alerts.thread(w, referral.id, audit)

    async def _settle_on_card(self, w: Work, referral: Referral, decision: str, actor: str) -> None:
        """Flagged before the queue existed: the team has its alert already, and only its rewards wait."""
        count = await self._rewards.settle_review(w, referral, decision, actor)
        await self._alerts.refresh(w, referral.id)
        audit = self._screens.team("reward_review_audit", decision=decision, actor=actor, count=count)
        await self._alerts.thread(w, referral.id, audit)
