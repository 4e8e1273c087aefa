"""The one follow-up reminder: customers who were asked and have not shared since get a single nudge.

Each reminder is a unit of work keyed by its ask, and its log row and outbox row are keyed by the ask
too, so two sweeps or a restart never send a second one. During quiet hours the sweep waits.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.periodic import Periodic
from bot.core.unit_of_work import Units
from bot.engagement.asks import program_zone, quiet_now, send_follow_up
from bot.engagement.bands import nps_gate

log = logging.getLogger(__name__)
BATCH = 100


class FollowUpSweep(Periodic):
    what = "follow-up sweep"

    def __init__(self, units: Units, poll_seconds: float = 60.0) -> None:
        super().__init__(poll_seconds)
        self._units = units

    async def sweep(self) -> int:
        """Send the reminders that are due now; return how many went out."""
        units, rules = self._units, self._units.program.asks
        now = units.clock.now()
        if not rules.follow_up_after_days or quiet_now(rules, program_zone(units.program), now):
            return 0
        asked_before = now - timedelta(days=rules.follow_up_after_days)
        sent = 0
        while not self._stopping.is_set():
            async with units.store.reading() as tx:
                due = await tx.follow_ups_due(asked_before, BATCH)
            settled = [await self._settle(*ask) for ask in due]
            sent += sum(1 for outcome in settled if outcome == "sent")
            if len(due) < BATCH or "replay" in settled:
                break  # done, or another sweep is on the same asks: leave the rest to the next pass
        return sent

    async def _settle(self, ask_id: str, customer_id: int, asked_at: datetime) -> str:
        """Remind, or close the ask without a reminder; either way it is never looked at again."""
        async with self._units.once(f"follow_up:{ask_id}", bulk=True) as w:
            if w is None:
                return "replay"
            customer = await w.tx.customer(customer_id)
            if customer is None or customer.asks_opted_out or customer.unreachable_at is not None:
                outcome = "opted_out_or_gone"
            elif gate := nps_gate(await w.tx.last_nps_score(customer_id), self._units.program.asks.ask_passives):
                outcome = gate  # unhappy since the ask: no reminder either
            elif await w.tx.shared_since(customer_id, asked_at):
                outcome = "shared"
            elif await send_follow_up(w, self._units, customer, ask_id):
                return "sent"
            else:
                outcome = "already_sent"
            await w.tx.close_ask(ask_id, w.now)
            await w.tx.log_event("ask.follow_up_skipped", w.now, subject=str(customer_id), ask=ask_id, why=outcome)
        return outcome
