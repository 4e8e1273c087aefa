"""Speed to lead: stored timers that nudge the team, counted in business time.

Timers live in the database, so they survive restarts. Each firing is a unit of work keyed by the
timer's id, so it happens once even if two schedulers see it; and each checks the referral first,
so a nudge never fires for a referral that has moved on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.core.models import Referral, Status, Timer
from bot.core.unit_of_work import Units, Work
from bot.reports.metrics import Metrics
from bot.team.languages import reader_locale
from bot.team.routing import start_routing

log = logging.getLogger(__name__)
# The status a referral must still have for each timer to fire.
WAITING_FOR = {"claim_nudge": Status.NEW, "escalate": Status.NEW, "contact_nudge": Status.CLAIMED}


async def schedule_claim_timers(w: Work, units: Units, referral_id: str) -> None:
    sla = units.program.sla
    routed = await start_routing(w, units, referral_id)  # then an offer to one rep stands in for the claim nudge
    for kind, minutes in (("claim_nudge", sla.claim_within_minutes), ("escalate", sla.escalate_after_minutes)):
        if not (routed and kind == "claim_nudge"):
            await w.tx.add_timer(referral_id, kind, units.hours.add(w.now, timedelta(minutes=minutes)), w.now)


async def schedule_contact_timer(w: Work, units: Units, referral_id: str) -> None:
    due = units.hours.add(w.now, timedelta(minutes=units.program.sla.contact_within_minutes))
    await w.tx.add_timer(referral_id, "contact_nudge", due, w.now)


class SlaScheduler:
    def __init__(self, units: Units, poll_seconds: float = 1.0, metrics: Metrics | None = None) -> None:
        self._units = units
        self._poll = poll_seconds
        self._stopping = False
        self.metrics = metrics or Metrics()  # stand-alone when the engine gives none

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.fire_due()
            except Exception:  # a busy database must not end speed-to-lead for good
                log.exception("SLA pass failed; retrying")
            await asyncio.sleep(self._poll)

    async def fire_due(self) -> int:
        now = self._units.clock.now()
        timers = await self._units.store.claim_due_timers(now, 50, timedelta(seconds=60))
        for timer in timers:
            async with self._units.once(f"timer:{timer.id}") as w:
                fired = w is not None and await self._fire(w, timer)
            if fired:  # counted only once the firing has committed
                self.metrics.timer_fired(timer.kind)
        return len(timers)

    async def _fire(self, w: Work, timer: Timer) -> bool:
        """True when the timer fired; False when it was skipped (its referral moved on, or no Slack team is set up)."""
        referral = await w.tx.referral(timer.referral_id)
        alerts = self._units.alerts
        if referral is None or alerts is None or referral.status != WAITING_FOR[timer.kind]:
            await w.tx.finish_timer(timer.id, "skipped", w.now)
            return False
        waited = self._units.hours.elapsed(timer.created_at, w.now)  # since the team had it (arrival, approval, claim)
        minutes = max(1, round(waited.total_seconds() / 60))
        screens, name = self._units.screens, await self._friend_name(w, referral)
        if timer.kind == "claim_nudge":  # in the channel: the team's language
            text = screens.team("nudge_claim", friend=name or screens.team_label("slack_a_friend"), minutes=minutes)
            await alerts.thread(w, referral.id, text)
        elif timer.kind == "escalate":
            for manager in sorted(alerts.team.managers):  # a DM each, in that manager's language
                text = await self._dm(w, manager, "escalate", name, minutes, channel=alerts.team.alert_channel)
                await alerts.direct(w, manager, text, referral.id)
        elif referral.assignee:
            text = await self._dm(w, referral.assignee, "nudge_contact", name, minutes)
            await alerts.direct(w, referral.assignee, text)
        await w.tx.finish_timer(timer.id, "fired", w.now)
        await alerts.refresh(w, referral.id)  # the card shows the wait as it is now
        await w.tx.log_event(f"sla.{timer.kind}", w.now, subject=referral.id, waited_minutes=minutes)
        return True

    async def _dm(self, w: Work, user: str, template: str, name: str | None, minutes: int, **context: str) -> str:
        """A nudge or escalation for one person of the team, in the language they read."""
        screens = self._units.screens
        locale = await reader_locale(w, screens, user)
        friend = name or screens.team_label("slack_a_friend", locale)
        return screens.team(template, locale, friend=friend, minutes=minutes, **context)

    @staticmethod
    async def _friend_name(w: Work, referral: Referral) -> str | None:
        if referral.friend_telegram_id is not None:
            friend = await w.tx.customer(referral.friend_telegram_id)
            if friend is not None:
                return friend.display_name
        return referral.friend_name or None
