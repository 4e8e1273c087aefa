"""NPS: "How likely are you to recommend us?" with 0–10 buttons, then an optional comment.

It is asked on /feedback, after a referral the customer made converts, or N days after joining
(bot/engagement/feedback_sweep.py), as the program's `[feedback]` says. Each question is one row; its score is set
once, so a replayed or repeated click stores nothing twice. Promoters are asked to refer at once;
detractors reach the support channel in Slack once their comment is in (or skipped).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.core.buttons import NpsScore, NpsSkip, callback_button
from bot.core.figures import NpsFigures
from bot.core.models import DRAFT_TTL, ChatUser, Customer, Draft, NpsQuestion, Outgoing, Referral
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from bot.engagement.asks import send_ask
from bot.engagement.bands import band
from bot.engagement.survey import SURVEY_STEP, SurveyService, check_free_text
from bot.reports.stats import Period
from storage.base import Store

COMMENT_STEP = "nps_comment"
UNPROMPTED_GAP = timedelta(days=90)  # an automatic question never follows another this soon


async def ask_nps(w: Work, units: Units, customer: Customer, trigger: str, dedupe_key: str | None = None) -> bool:
    """Queue the question with its 0–10 buttons; False when this cause asked already (a replay)."""
    question_id = secrets.token_hex(8)
    if not await w.tx.add_nps_question(question_id, customer.telegram_id, trigger, dedupe_key, customer.variant, w.now):
        return False
    text = units.screens.to(customer, "nps_question").text
    rows = tuple(
        tuple(callback_button(str(score), NpsScore(question_id, score)) for score in scores)
        for scores in (range(0, 6), range(6, 11))
    )
    await w.post(
        "telegram", str(customer.telegram_id), Outgoing(customer.telegram_id, text, rows).to_payload(), key=dedupe_key
    )
    await w.tx.log_event(
        "nps.asked", w.now, actor="bot", subject=question_id, customer=customer.telegram_id, trigger=trigger
    )
    return True


async def may_ask_unprompted(w: Work, customer: Customer) -> bool:
    """Nobody who opted out or cannot be reached is asked unprompted, nor anyone asked recently."""
    if customer.asks_opted_out or customer.unreachable_at is not None:
        return False
    last = await w.tx.last_nps_asked(customer.telegram_id)
    return last is None or w.now - last >= UNPROMPTED_GAP


async def after_conversion(w: Work, units: Units, referral: Referral) -> None:
    """A referral converted: ask the customer who made it, when the program asks after conversions."""
    if units.program.feedback.nps_after != "conversion":
        return
    referrer = await w.tx.customer(referral.referrer_id)
    if referrer is not None and await may_ask_unprompted(w, referrer):
        await ask_nps(w, units, referrer, "conversion", f"nps:conversion:{referral.id}")


class NpsService:
    def __init__(self, units: Units, survey: SurveyService) -> None:
        self._units = units
        self._screens = units.screens
        self._survey = survey

    async def ask(self, inbound_id: str, user: ChatUser) -> bool:
        """/feedback: the question, whenever a customer wants to answer it."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            await ask_nps(w, self._units, await self._units.customer(w, user), "command")
        return True

    async def button(self, inbound_id: str, user: ChatUser, data: NpsScore | NpsSkip) -> bool:
        """A score from the 0–10 buttons, or the comment's Skip."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            if isinstance(data, NpsSkip):
                await self._skip(w, customer)
            else:
                await self._score(w, customer, data.question_id, data.score)
        return True

    async def _score(self, w: Work, customer: Customer, question_id: str, score: int) -> None:
        question = await w.tx.nps_question(question_id)
        if question is None or question.customer_id != customer.telegram_id:
            await w.send(self._screens.to(customer, "nps_expired"))
            return
        if not await w.tx.answer_nps(question_id, customer.telegram_id, score, w.now):
            await w.send(self._screens.to(customer, "nps_already", score=question.score))
            return
        await w.tx.log_event(
            "nps.answered", w.now, actor=f"tg:{customer.telegram_id}", subject=question_id, score=score
        )
        await w.tx.save_draft(Draft(customer.telegram_id, COMMENT_STEP, {"question": question_id}, w.now))
        ask = self._screens.to(customer, "nps_comment_ask", score=score, band=band(score))
        await w.send(self._screens.with_buttons(ask, (self._screens.label(customer.language, "skip"), NpsSkip())))
        if band(score) == "promoter":
            await send_ask(w, self._units, customer, reason="promoter")

    async def expects_text(self, user: ChatUser) -> bool:
        """Whether the person's next message answers a feedback question (a comment or the survey)."""
        async with self._units.store.reading() as tx:
            draft = await tx.draft(user.id)
        now = self._units.clock.now()
        return draft is not None and draft.step in (COMMENT_STEP, SURVEY_STEP) and now - draft.updated_at <= DRAFT_TTL

    async def text(self, inbound_id: str, user: ChatUser, text: str) -> bool:
        """A typed answer: the NPS comment, or the survey answer."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            draft = await w.tx.draft(user.id)
            if draft is not None and draft.step == SURVEY_STEP:
                await self._survey.answer(w, customer, text)
            elif draft is not None and draft.step == COMMENT_STEP:
                await self._comment(w, customer, draft, text)
            else:  # the draft ended between the check and now: the ordinary menu
                await w.send(self._screens.welcome(customer, returning=True))
        return True

    async def _comment(self, w: Work, customer: Customer, draft: Draft, text: str) -> None:
        comment = check_free_text(text)
        if comment is None:
            ask = self._screens.to(customer, "nps_comment_bad")
            await w.send(self._screens.with_buttons(ask, (self._screens.label(customer.language, "skip"), NpsSkip())))
            return
        question_id = draft.data["question"]
        await w.tx.update_nps(question_id, comment=comment, commented_at=w.now)
        await self._finish(w, customer, question_id)

    async def _skip(self, w: Work, customer: Customer) -> None:
        draft = await w.tx.draft(customer.telegram_id)
        if draft is None or draft.step != COMMENT_STEP:
            return  # skipped already, or moved on: nothing left to skip
        await self._finish(w, customer, draft.data["question"])

    async def _finish(self, w: Work, customer: Customer, question_id: str) -> None:
        """The comment is in or skipped: detractors reach support, the others are offered the survey."""
        await w.tx.delete_draft(customer.telegram_id)
        question = await w.tx.nps_question(question_id)
        assert question is not None  # the draft points at a question of theirs
        score = question.score if question.score is not None else 0
        await w.send(self._screens.to(customer, "nps_done", score=score, band=band(score)))
        if band(score) == "detractor":
            await alert_support(w, self._units, customer, question)
        else:
            await self._survey.offer(w, customer)


async def alert_support(w: Work, units: Units, customer: Customer, question: NpsQuestion) -> None:
    """A detractor's score and comment, to the Slack support channel, once."""
    alerts = units.alerts
    if alerts is None or question.alerted_at is not None:
        return
    text = units.screens.team("nps_alert", customer=customer, question=question)
    await alerts.support(w, text, key=f"nps-alert:{question.id}", about=[person(customer.telegram_id)])
    await w.tx.update_nps(question.id, alerted_at=w.now)


async def nps_figures(store: Store, period: Period) -> NpsFigures:
    return await store.nps_figures(period.since)
