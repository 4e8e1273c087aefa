"""The periodic part of feedback: the NPS question N days after joining, and support alerts for
detractors who never finished their comment.

Each question is a unit of work keyed by the customer, and its outbox row and question row carry a
dedupe key, so two passes (or two processes) never ask the same person twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.models import DRAFT_TTL, NpsQuestion
from bot.core.periodic import Periodic
from bot.core.unit_of_work import Units, Work
from bot.engagement.asks import program_zone, quiet_now
from bot.engagement.nps import COMMENT_STEP, UNPROMPTED_GAP, alert_support, ask_nps, may_ask_unprompted

log = logging.getLogger(__name__)
BATCH = 50


class FeedbackSweep(Periodic):
    what = "feedback pass"

    def __init__(self, units: Units, poll_seconds: float = 60.0) -> None:
        super().__init__(poll_seconds)
        self._units = units

    async def sweep(self) -> int:
        """One pass; returns how many questions and alerts it queued."""
        return await self._ask_after_days() + await self._late_alerts()

    async def _ask_after_days(self) -> int:
        program, now = self._units.program, self._units.clock.now()
        feedback = program.feedback
        if feedback.nps_after != "days" or quiet_now(program.asks, program_zone(program), now):
            return 0
        segments = program.asks.segments
        due = await self._units.store.due_for_nps(
            now - timedelta(days=feedback.nps_after_days), segments, now - UNPROMPTED_GAP, BATCH
        )
        for customer_id in due:
            # Keyed by the pass, not only the customer: the question's own dedupe key keeps it to once.
            key = f"nps:days:{customer_id}:{now.isoformat(timespec='microseconds')}"
            async with self._units.once(key, bulk=True) as w:  # a sweep's questions wait behind people's replies
                if w is not None:
                    await self._ask(w, customer_id)
        return len(due)

    async def _ask(self, w: Work, customer_id: int) -> None:
        customer = await w.tx.customer(customer_id)
        if customer is not None and await may_ask_unprompted(w, customer):
            await ask_nps(w, self._units, customer, "days", f"nps:days:{customer_id}")

    async def _late_alerts(self) -> int:
        """A detractor who left without commenting or skipping still reaches support, once the comment
        could no longer come."""
        if self._units.alerts is None:
            return 0
        now = self._units.clock.now()
        questions = await self._units.store.unalerted_detractors(now - DRAFT_TTL, BATCH)
        for question in questions:
            async with self._units.once(f"nps:late-alert:{question.id}") as w:
                if w is not None:
                    await self._alert(w, question)
        return len(questions)

    async def _alert(self, w: Work, question: NpsQuestion) -> None:
        customer = await w.tx.customer(question.customer_id)
        draft = await w.tx.draft(question.customer_id)
        if draft is not None and draft.step == COMMENT_STEP and draft.data.get("question") == question.id:
            await w.tx.delete_draft(question.customer_id)  # the comment will not come any more
        if customer is not None:
            await alert_support(w, self._units, customer, question)
