"""The rep workflow: claim, contacted, converted or lost, flag; and talking to the friend.

Every action is checked against the referral's current status before it is applied, so a
double click or a redelivered action changes nothing the second time, and says why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from bot.core.models import Referral, Status
from bot.core.subjects import friend_of, person
from bot.core.unit_of_work import Units, Work
from bot.core.validation import shown_text
from bot.delivery.mail import Mailer
from bot.engagement.ask_triggers import schedule_after_conversion
from bot.engagement.nps import after_conversion
from bot.rewards.ledger import Rewards
from bot.team.alerts import Alerts
from bot.team.languages import reader_locale
from bot.team.routing import Offers
from bot.team.scripts import call_script
from bot.team.sla import schedule_contact_timer

OPEN = frozenset({Status.NEW, Status.CLAIMED, Status.CONTACTED})
# action: (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "claim": (frozenset({Status.NEW}), Status.CLAIMED),
    "contacted": (frozenset({Status.CLAIMED}), Status.CONTACTED),
    "converted": (frozenset({Status.CLAIMED, Status.CONTACTED}), Status.CONVERTED),
    "lost": (OPEN, Status.LOST),
    "flag": (OPEN, Status.REJECTED),
}


@dataclass(frozen=True)
class StatusChange:
    """One referral moving on, as every effect of the change sees it."""

    before: Referral
    after: Referral
    target: Status
    actor: str


Effect = Callable[[Work, StatusChange], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """What the rep is told: nothing when it worked (the alert shows it), else why not."""

    refused: str | None = None


class TeamService:
    def __init__(self, units: Units, alerts: Alerts) -> None:
        self._units = units
        self._alerts = alerts
        self._screens = units.screens
        self._reward_rules = Rewards(units)
        self._offers = Offers(units, alerts)
        # What a status change causes, registered here and run in this order: the outbox rows each queues are
        # keyed by their place in the unit of work, so the order is part of what makes a replay harmless.
        self.effects: tuple[Effect, ...] = (
            self._tell_webhooks,
            self._settle_rewards,
            self._ask_for_feedback,
            self._ask_at_the_right_moment,
            self._show_on_alert,
            self._show_script,
            self._settle_route,  # last: the rows the others queue keep their places
        )

    async def act(self, inbound_id: str, referral_id: str, action: str, actor: str, **details: Any) -> Outcome:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return Outcome()
            return await self.act_in(w, referral_id, action, actor, **details)

    async def act_in(self, w: Work, referral_id: str, action: str, actor: str, **details: Any) -> Outcome:
        """The step inside a unit of work the caller holds (routing's Accept checks the offer in the same one)."""
        referral = await w.tx.referral(referral_id)
        locale = await reader_locale(w, self._screens, actor)  # a refusal is read by the one who acted
        if referral is None:
            return Outcome(self._screens.team("refused_missing", locale))
        allowed, target = TRANSITIONS[action]
        if referral.status not in allowed:
            return Outcome(self._refusal(referral, action, actor, locale))
        overruled = self._overrules(referral, action, actor)
        if overruled is not None:
            return Outcome(self._refusal(referral, action, actor, locale, overruled))
        await self._apply(w, referral, target, actor, details)
        return Outcome()

    def _overrules(self, referral: Referral, action: str, actor: str) -> str | None:
        """Why this step would overrule someone else's call, which only a manager (or the CRM) may do; None if not.
        A rep may move on only what they claimed, and flag only that or what is unclaimed; once a manager has
        approved a referral's rewards, flagging it (which revokes them) is a manager's decision too."""
        if action == "claim" or actor.startswith("crm:") or self._alerts.team.is_manager(actor):
            return None
        if referral.assignee and referral.assignee != actor:
            return "not_assignee"
        if action == "flag" and referral.review == "approved":
            return "approved"
        return None

    def _refusal(self, referral: Referral, action: str, actor: str, locale: str, reason: str | None = None) -> str:
        return self._screens.team(
            "refused",
            locale,
            action=action,
            status=referral.status,
            assignee=referral.assignee,
            actor=actor,
            reason=reason,
        )

    async def _apply(self, w: Work, referral: Referral, target: Status, actor: str, details: dict[str, Any]) -> None:
        changes: dict[str, Any] = {"status": target.value, f"{target.value}_at": w.now, "updated_at": w.now}
        if target == Status.CLAIMED or (target == Status.CONTACTED and not referral.assignee):
            changes["assignee"] = actor
        if target == Status.CONVERTED and details.get("deal_value") is not None:
            changes["deal_value"] = Decimal(details["deal_value"])
        if target == Status.LOST:
            changes["lost_reason"] = shown_text(details.get("reason") or "")[:500] or None
        await w.tx.update_referral(referral.id, **changes)
        await w.tx.cancel_timers(referral.id, w.now)
        if target == Status.CLAIMED:
            await schedule_contact_timer(w, self._units, referral.id)
        await w.tx.log_event(
            "referral.status",
            w.now,
            actor=actor if actor.startswith("crm:") else f"slack:{actor}",
            subject=referral.id,
            previous=referral.status,
            status=target.value,
            **{k: str(v) for k, v in details.items() if v},
        )
        change = StatusChange(referral, replace(referral, **changes), target, actor)
        for effect in self.effects:
            await effect(w, change)

    async def _tell_webhooks(self, w: Work, change: StatusChange) -> None:
        await self._units.webhooks.status_changed(w, change.after, change.before.status, change.actor)

    async def _settle_rewards(self, w: Work, change: StatusChange) -> None:
        await self._rewards(w, change.before, change.target)

    async def _ask_for_feedback(self, w: Work, change: StatusChange) -> None:
        if change.target == Status.CONVERTED:
            await after_conversion(w, self._units, change.before)  # NPS to the referrer, when the program says so

    async def _ask_at_the_right_moment(self, w: Work, change: StatusChange) -> None:
        if change.target == Status.CONVERTED:
            await schedule_after_conversion(w, self._units, change.before)  # the referrer's asks of [[asks.triggers]]

    async def _show_on_alert(self, w: Work, change: StatusChange) -> None:
        """The alert card redrawn, and an audit line in its thread."""
        since = self._units.hours.elapsed(change.before.created_at, w.now)
        converted = change.target == Status.CONVERTED
        audit = self._screens.team(
            "audit",
            status=change.target.value,
            actor=change.actor,
            minutes=round(since.total_seconds() / 60),
            deal_value=self._screens.money(change.after.deal_value) if converted else None,
            reason=change.after.lost_reason if change.target == Status.LOST else None,
        )
        await self._alerts.refresh(w, change.before.id)
        await self._alerts.thread(w, change.before.id, audit)

    async def _show_script(self, w: Work, change: StatusChange) -> None:
        """The rep who claims is shown the call script at once; a claim from the CRM has nobody to show it to."""
        if change.target == Status.CLAIMED and not change.actor.startswith("crm:"):
            await self._alerts.script(w, change.before.id, change.actor)

    async def _settle_route(self, w: Work, change: StatusChange) -> None:
        """A routed referral taken or closed: its pending offer is accepted (the rep's claim) or withdrawn."""
        await self._offers.close(w, change.before.id, change.actor, accepted=change.target == Status.CLAIMED)

    async def _rewards(self, w: Work, referral: Referral, target: Status) -> None:
        """Converted: both sides are thanked, then their earned rewards issued (unless held for review).
        Flagged: every reward of the referral not yet issued is revoked."""
        if target == Status.REJECTED:
            await self._reward_rules.revoke(w, referral.id)
            return
        if target != Status.CONVERTED:
            return
        held = await self._reward_rules.held(w, referral.id)
        sides = {r.role: r.description for r in await w.tx.rewards_of(referral.id) if r.tier is None}
        referrer = await w.tx.customer(referral.referrer_id)
        friend = await w.tx.customer(referral.friend_telegram_id) if referral.friend_telegram_id else None
        friend_name = friend.display_name if friend else (referral.friend_name or "")
        if referrer is not None:
            reward = sides.get("referrer") or self._units.program.incentives.referrer.get(referrer.language)
            await w.send(
                self._screens.to(
                    referrer, "converted_referrer", friend_name=friend_name, held=held, referrer_reward=reward
                ),
                about=[friend_of(referral.id)],
            )
        if friend is not None and referrer is not None:
            gift = sides.get("friend") or self._units.program.incentives.friend.get(friend.language)
            await w.send(
                self._screens.to(friend, "converted_friend", referrer=referrer, held=held, friend_incentive=gift),
                about=[person(referrer.telegram_id)],
            )
        await self._reward_rules.converted(w, referral)

    async def call_script(self, referral_id: str, locale: str | None = None) -> str | None:
        """The referral's call script for whoever asks (it changes nothing), in their `locale`; None when the referral
        is gone."""
        return await call_script(self._units.store, self._screens, referral_id, self._units.clock.now(), locale)

    async def message_friend(self, inbound_id: str, referral_id: str, actor: str, text: str) -> Outcome:
        """A rep writes to the friend from Slack: through the bot in Telegram, or by e-mail to a friend who left only
        their address (replies go to SMTP_REPLY_TO, which the team reads)."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return Outcome()
            referral = await w.tx.referral(referral_id)
            friend = (
                await w.tx.customer(referral.friend_telegram_id) if referral and referral.friend_telegram_id else None
            )
            locale = await reader_locale(w, self._screens, actor)
            if referral is not None and referral.friend_declined_at is not None:  # they never agreed to be contacted
                return Outcome(self._screens.team("refused_declined", locale, friend=referral.friend_name or ""))
            if referral is None or (friend is None and not await self._mail_friend(w, referral, text)):
                return Outcome(self._screens.team("refused_no_telegram", locale))
            if friend is not None:
                await w.send(self._screens.to(friend, "team_message", text=text))
            await self._alerts.thread(
                w, referral.id, self._screens.team("team_message", actor=actor, text=text, by_email=friend is None)
            )
            await w.tx.log_event("referral.message", w.now, actor=f"slack:{actor}", subject=referral.id)
        return Outcome()

    async def _mail_friend(self, w: Work, referral: Referral, text: str) -> bool:
        """Only with the friend's own consent (they gave it on the landing page) and an address that did not
        unsubscribe."""
        if (
            referral.friend_contact_kind != "email"
            or referral.friend_confirmed_at is None
            or not referral.friend_contact
        ):
            return False
        locale = referral.friend_language or self._units.program.program.default_locale
        about = [friend_of(referral.id)]
        name = referral.friend_name or ""
        return await Mailer(self._units).send(
            w, referral.friend_contact, locale, "team_message", about, friend_name=name, text=text
        )
