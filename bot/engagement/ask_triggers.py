"""Asks at the right moment ([[asks.triggers]]): N days after a referral of the customer's converts, after a purchase
of their own the CRM reports, or on a schedule.

An event writes a waiting ask (table ask_triggers) in its own transaction, with an id derived from the trigger and
the event, so an event seen twice (a retried request, a replayed click) waits once. A schedule's occurrence writes
one per customer of the asked segments. The sweep asks each once it is due, through the same rules as a campaign
(`check`): segments, "Stop asking me", the NPS gate, cooldown, cap and quiet hours. Settling the row in the unit of
work that asks is the claim: a second instance's update finds it settled and does nothing. During quiet hours the
waiting asks wait; the other reasons leave the customer out, and the row records why.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from bot.core.models import DueAsk, Referral
from bot.core.periodic import Periodic
from bot.core.unit_of_work import Units, Work
from bot.engagement.asks import check, program_zone, quiet_now, send_ask
from bot.program.triggers import AskTrigger, Moment

log = logging.getLogger(__name__)
BATCH = 100
# A schedule's occurrence missed by more than this (the bot was stopped) is skipped rather than sent late.
SCHEDULE_GRACE = timedelta(days=1)


def triggers_after(units: Units, moment: Moment) -> list[AskTrigger]:
    return [trigger for trigger in units.program.asks.triggers if trigger.after == moment]


async def schedule_after_conversion(w: Work, units: Units, referral: Referral) -> None:
    """A referral converted: its referrer's asks `days` later, one per conversion trigger."""
    for trigger in triggers_after(units, "conversion"):
        ask_id = f"conversion:{trigger.name}:{referral.id}"
        await w.tx.add_due_ask(DueAsk(ask_id, referral.referrer_id, trigger.name, w.now + trigger.delay), w.now)


async def record_purchase(units: Units, inbound_id: str, customer_id: int, value: Decimal | None) -> list[DueAsk]:
    """A purchase of the customer's, once per inbound id: logged, and an ask waiting for each purchase trigger it
    meets. Returns the asks it scheduled (the first time's, for a replay)."""
    fitting = [trigger for trigger in triggers_after(units, "purchase") if trigger.fits(value)]
    ids = [f"purchase:{trigger.name}:{inbound_id}" for trigger in fitting]
    async with units.once(inbound_id) as w:
        if w is not None:
            shown = str(value) if value is not None else None
            await w.tx.log_event("customer.purchase", w.now, actor="crm", subject=str(customer_id), value=shown)
            for ask_id, trigger in zip(ids, fitting, strict=True):
                await w.tx.add_due_ask(DueAsk(ask_id, customer_id, trigger.name, w.now + trigger.delay), w.now)
    async with units.store.reading() as tx:
        return list(await tx.due_asks(ids))


class _QuietNow(Exception):
    """Quiet hours began during the pass: the ask's unit of work rolls back, so it stays waiting."""


class TriggerSweep(Periodic):
    what = "ask triggers"

    def __init__(self, units: Units, poll_seconds: float = 60.0) -> None:
        super().__init__(poll_seconds)
        self._units = units
        self._triggers = {trigger.name: trigger for trigger in units.program.asks.triggers}
        self._scheduled: set[str] = set()  # occurrences this process has written already

    async def sweep(self) -> int:
        """Write the schedules' asks that came round, then ask those due now; returns how many were asked."""
        units = self._units
        now = units.clock.now()
        if not self._triggers:
            return 0
        await self._schedule(now)
        if quiet_now(units.program.asks, program_zone(units.program), now):
            return 0
        asked = 0
        while not self._stopping.is_set():
            due = await units.store.waiting_asks(now, BATCH)
            outcomes = [await self._fire(ask) for ask in due]
            asked += outcomes.count("asked")
            if len(due) < BATCH or "replay" in outcomes or "quiet_hours" in outcomes:
                break  # done, or another instance is on the same asks, or it is quiet now: the rest next pass
        return asked

    async def _schedule(self, now: datetime) -> None:
        zone, segments = program_zone(self._units.program), self._units.program.asks.segments
        for trigger in triggers_after(self._units, "schedule"):
            occurrence = trigger.last_occurrence(now, zone)
            key = f"schedule:{trigger.name}:{occurrence.isoformat()}"
            if key in self._scheduled or now - occurrence > SCHEDULE_GRACE:
                continue
            async with self._units.once(key) as w:  # once per occurrence, whichever instance comes first
                if w is not None:
                    added = await w.tx.schedule_due_asks(f"{key}:", trigger.name, segments, occurrence, w.now)
                    await w.tx.log_event("ask.scheduled", w.now, subject=trigger.name, customers=added)
            self._scheduled.add(key)

    async def _fire(self, ask: DueAsk) -> str:
        try:
            async with self._units.once(f"trigger:{ask.id}", bulk=True) as w:
                return "replay" if w is None else await self._settle(w, ask)
        except _QuietNow:
            return "quiet_hours"

    async def _settle(self, w: Work, ask: DueAsk) -> str:
        """Ask, or record why not; either way the row is settled and never looked at again."""
        customer = await w.tx.customer(ask.customer_id)
        trigger = self._triggers.get(ask.trigger)
        if customer is None:
            outcome: str = "gone"
        elif trigger is None:
            outcome = "trigger_removed"  # the program no longer has it
        else:
            verdict = await check(w.tx, self._units.program, customer, w.now)
            if verdict == "quiet_hours":
                raise _QuietNow
            outcome = "asked" if verdict == "eligible" else verdict
        if not await w.tx.settle_due_ask(ask.id, outcome, w.now):
            return "replay"
        if outcome == "asked" and customer is not None and trigger is not None:
            await send_ask(w, self._units, customer, f"trigger:{ask.trigger}", moment=trigger.after)
        else:
            await w.tx.log_event("ask.trigger_skipped", w.now, subject=str(ask.customer_id), ask=ask.id, why=outcome)
        return outcome
