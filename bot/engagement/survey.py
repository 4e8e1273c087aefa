"""The program-feedback survey: one free-text question to advocates, "What would make you refer more?".

It is offered after an NPS comment to promoters and passives, and on /survey. Answers are stored as
typed and listed for managers by `/referrals feedback`.
"""

from __future__ import annotations

from typing import Any

from bot.core.buttons import SurveySkip
from bot.core.models import ChatUser, Customer, Draft
from bot.core.unit_of_work import Units, Work
from bot.core.validation import storable
from storage.base import Store

SURVEY_STEP = "survey"
QUESTION = "refer_more"
ANSWER_MAX = 1000


def check_free_text(text: str) -> str | None:
    """A comment or answer as typed (trimmed); None when it is empty or too long to keep."""
    answer = storable(text).strip()
    return answer if answer and len(answer) <= ANSWER_MAX else None


class SurveyService:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = units.screens

    async def begin(self, inbound_id: str, user: ChatUser) -> bool:
        """/survey: the question, answered by the next message."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            await self.offer(w, await self._units.customer(w, user))
        return True

    async def offer(self, w: Work, customer: Customer) -> None:
        await w.tx.save_draft(Draft(customer.telegram_id, SURVEY_STEP, {}, w.now))
        question = self._screens.to(customer, "survey_question")
        await w.send(
            self._screens.with_buttons(question, (self._screens.label(customer.language, "skip"), SurveySkip()))
        )

    async def answer(self, w: Work, customer: Customer, text: str) -> None:
        answer = check_free_text(text)
        if answer is None:
            question = self._screens.to(customer, "survey_bad")
            skip = (self._screens.label(customer.language, "skip"), SurveySkip())
            await w.send(self._screens.with_buttons(question, skip))
            return
        await w.tx.delete_draft(customer.telegram_id)
        await w.tx.add_feedback_answer(customer.telegram_id, QUESTION, answer, w.now)
        await w.tx.log_event("survey.answered", w.now, actor=f"tg:{customer.telegram_id}", question=QUESTION)
        await w.send(self._screens.to(customer, "survey_thanks"))

    async def skip(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            draft = await w.tx.draft(user.id)
            if draft is not None and draft.step == SURVEY_STEP:
                await w.tx.delete_draft(user.id)
                await w.send(self._screens.to(customer, "survey_skipped"))
        return True


async def latest_feedback(store: Store, limit: int = 15) -> dict[str, Any]:
    """What managers read in `/referrals feedback`: the latest survey answers and NPS comments, newest first."""
    return {"answers": await store.survey_answers(limit), "comments": await store.nps_comments(limit)}
