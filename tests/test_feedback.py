"""Feedback: the NPS question and its 0–10 buttons, promoters asked to refer, detractors reaching support,
the automatic questions, NPS in the stats, and the program-feedback survey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.demo import TOKEN
from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.engagement.feedback_sweep import FeedbackSweep
from bot.program.rules import Program
from bot.program.sections import Feedback
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, MAYA, RITA, Operator, settings_for, slack_settings
from helpers import answer, ask, callback_data, converted_referral, feedback_question, next_message, say, start

SUPPORT = "C0SUPPORT"


@asynccontextmanager
async def support_bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, database: Path
) -> AsyncIterator[Engine]:
    """Telegram and Slack, with a support channel of its own."""
    slack.add_channel(SUPPORT, "support", members={RITA, MAYA})
    extra = {**slack_settings(slack), "slack_support_channel": SUPPORT}
    async with await build_engine(settings_for(telegram, database, **extra), program, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        yield running


async def test_the_question_offers_0_to_10_and_a_promoter_is_thanked_and_asked_to_refer(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    question = await feedback_question(telegram, 1001, "Ana")
    assert question.text.startswith("How likely are you to recommend Acme Coffee to a friend or colleague?")
    assert [b["text"] for b in question.buttons()] == [str(n) for n in range(11)]
    thanks, referral_ask = await answer_question(telegram, question, 10)
    assert thanks.text.startswith("Thank you, Ana! A 10 means a lot to us.")
    assert "Write it in one message, or tap Skip." in thanks.text
    assert thanks.button("Skip")["callback_data"] == "nps:skip"
    assert referral_ask.text.startswith("Hi Ana! Happy with Acme Coffee?")
    assert operator.rows("SELECT reason FROM asks") == [{"reason": "promoter"}]
    done = await say(telegram, 1001, "Ana", "Great beans & <fast> delivery")
    assert done.text == "Thank you for your feedback, Ana!"
    survey = await next_message(telegram, 1001, 5)
    assert "what would make you refer more friends to Acme Coffee?" in survey.text
    assert operator.rows("SELECT trigger, score, comment FROM nps_answers") == [
        {"trigger": "command", "score": 10, "comment": "Great beans & <fast> delivery"}
    ]


async def answer_question(telegram: TelegramEmulator, question: SentMessage, score: int) -> list[SentMessage]:
    user_id = question.chat_id
    before = len(telegram.messages(user_id))
    await telegram.press_button(telegram.user(user_id, "Ana"), question, callback_data(question, score))
    return (await telegram.wait_for_messages(user_id, before + (2 if score >= 9 else 1)))[before:]


async def test_a_detractor_reaches_the_support_channel_with_their_comment(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with support_bot(telegram, slack, program, clock, operator.path):
        await start(telegram, 1001, "Ana")
        (sorry,) = await answer(telegram, 1001, "Ana", 3)
        assert sorry.text.startswith("Thank you for your honesty, Ana. We are sorry we fell short.")
        assert "What went wrong?" in sorry.text
        assert slack.messages(SUPPORT) == []  # not before the comment is in
        done = await say(telegram, 1001, "Ana", "Late twice <again> & cold")
        assert done.text.startswith("Thank you. We have passed your answer on to our team")
        (alert,) = await slack.wait_for_messages(SUPPORT, 1)
        assert alert.text.startswith(":warning: *Unhappy customer:* *Ana* scored us *3/10*, asked when they sent")
        assert ">Late twice &lt;again&gt; &amp; cold" in alert.text
        assert "Telegram id 1001 · customer" in alert.text
        assert slack.messages(ALERTS) == []
        assert operator.count("asks") == 0  # nobody unhappy is asked to refer
        assert operator.count("drafts") == 0


async def test_a_skipped_comment_still_alerts_support_and_passives_get_the_survey(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    (sorry,) = await answer(telegram, 1001, "Ana", 0)
    await telegram.press_button(telegram.user(1001, "Ana"), sorry, "nps:skip")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)  # no support channel set: the alert channel
    assert "scored us *0/10*" in alert.text and "_They left no comment._" in alert.text
    await start_passive(telegram)
    assert operator.rows("SELECT customer_id, score, comment FROM nps_answers ORDER BY score") == [
        {"customer_id": 1001, "score": 0, "comment": None},
        {"customer_id": 1002, "score": 7, "comment": None},
    ]
    assert len(slack.messages(ALERTS)) == 1  # a passive is no support case


async def start_passive(telegram: TelegramEmulator) -> None:
    await start(telegram, 1002, "Ben")
    (thanks,) = await answer(telegram, 1002, "Ben", 7)
    assert thanks.text.startswith("Thanks, Ben! Your 7 helps us get better.")
    await telegram.press_button(telegram.user(1002, "Ben"), thanks, "nps:skip")
    done, survey = (await telegram.wait_for_messages(1002, 5))[3:5]
    assert done.text == "Thank you for your feedback, Ben!"
    assert survey.text.startswith("One more question: what would make you refer more friends")


async def test_a_replayed_or_repeated_click_stores_one_answer(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    question = await feedback_question(telegram, 1001, "Ana")
    ana = telegram.user(1001, "Ana")
    update_id = await telegram.press_button(ana, question, callback_data(question, 7))
    await telegram.wait_for_messages(1001, 3)
    await telegram.replay(update_id)  # Telegram delivers the same click again
    await telegram.press_button(ana, question, callback_data(question, 2))  # and she taps another number
    again = await next_message(telegram, 1001, 3)
    assert (
        again.text
        == "You have already answered this question with a 7. Thank you! Send /feedback to answer again later."
    )
    assert len(telegram.messages(1001)) == 4
    assert operator.rows("SELECT score FROM nps_answers") == [{"score": 7}]


async def test_bad_comments_are_refused_and_nothing_half_stored(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    await answer(telegram, 1001, "Ana", 8)
    refused = await say(telegram, 1001, "Ana", "x" * 1001)
    assert refused.text == "Please write your comment as one message of up to 1000 characters, or tap Skip."
    assert operator.rows("SELECT score, comment FROM nps_answers") == [{"score": 8, "comment": None}]
    await say(telegram, 1001, "Ana", "  Fine, thanks  ")
    assert operator.rows("SELECT comment FROM nps_answers") == [{"comment": "Fine, thanks"}]


@pytest.mark.parametrize("score", ["²", "١٢", "۷"])
async def test_a_score_button_with_a_number_int_would_misread_gets_the_old_button_answer(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, score: str
) -> None:
    await start(telegram, 1001, "Ana")
    question = await feedback_question(telegram, 1001, "Ana")
    forged = callback_data(question, 7).rpartition(":")[0] + ":" + score  # a client that sends what we never do
    async with Bot(TOKEN, base_url=telegram.base_url) as other_bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(score, callback_data=forged)]])
        await other_bot.send_message(1001, "How likely?", reply_markup=keyboard)
    before = len(await telegram.wait_for_messages(1001, 3))
    await telegram.press_button(telegram.user(1001, "Ana"), telegram.messages(1001)[-1], forged)
    answer = (await telegram.wait_for_messages(1001, before + 1))[before]
    assert answer.text == "That button no longer works. Send /start for the menu."
    assert operator.rows("SELECT score FROM nps_answers") == [{"score": None}]  # the question, still unanswered
    (thanks,) = await answer_question(telegram, question, 7)  # the real button still works
    assert thanks.text.startswith("Thanks, Ana! Your 7 helps us get better.")


async def test_the_referrer_is_asked_after_their_referral_converts(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    messages = await telegram.wait_for_messages(1001, 4)
    assert messages[2].text.startswith("🎉 Great news, Ana!")
    assert messages[3].text.startswith("How likely are you to recommend Acme Coffee")
    assert operator.rows("SELECT customer_id, trigger FROM nps_answers") == [
        {"customer_id": 1001, "trigger": "conversion"}
    ]
    assert len(telegram.messages(2001)) == 2  # the friend is not asked: they only just became a customer


def asks_after_days(program: Program, days: int) -> Program:
    return program.model_copy(update={"feedback": Feedback(nps_after="days", nps_after_days=days)})


async def test_the_question_comes_n_days_after_joining_once(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    settings = settings_for(telegram, operator.path)
    async with await build_engine(settings, asks_after_days(program, 14), clock) as running:
        sweep = running.part(FeedbackSweep)
        await start(telegram, 1001, "Ana")
        clock.advance(timedelta(days=13))
        assert await sweep.sweep() == 0
        clock.advance(timedelta(days=1, minutes=1))
        assert await sweep.sweep() == 1
        question = await next_message(telegram, 1001, 1)
        assert question.text.startswith("How likely are you to recommend Acme Coffee")
        clock.advance(timedelta(days=1))
        assert await sweep.sweep() == 0
    assert operator.rows("SELECT trigger, dedupe_key FROM nps_answers") == [
        {"trigger": "days", "dedupe_key": "nps:days:1001"}
    ]
    assert len(telegram.messages(1001)) == 2


async def test_nps_appears_in_the_stats(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    assert "NPS: no answers yet" in await ask(slack, MAYA, "stats")
    for user_id, name, score in ((1001, "Ana", 10), (1002, "Ben", 9), (1003, "Cal", 8), (1004, "Dee", 2)):
        await start(telegram, user_id, name)
        await answer(telegram, user_id, name, score)
    stats = await ask(slack, MAYA, "stats 7d")
    assert "NPS: *+25* from 4 answers (2 promoters · 1 passives · 1 detractors)" in stats


async def test_the_survey_answers_reach_managers_with_names(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    before = len(telegram.messages(1001))
    await telegram.send_command(telegram.user(1001, "Ana"), "survey")
    question = await next_message(telegram, 1001, before)
    assert question.button("Skip")["callback_data"] == "survey:skip"
    thanks = await say(telegram, 1001, "Ana", "A bigger reward <b>for</b> teams & offices")
    assert thanks.text == "Thank you! Our team reads every answer to make the program better."
    await start(telegram, 1002, "Ben")
    await telegram.send_command(telegram.user(1002, "Ben"), "survey")
    skipped = await next_message(telegram, 1002, 1)
    await telegram.press_button(telegram.user(1002, "Ben"), skipped, "survey:skip")
    assert (await next_message(telegram, 1002, 2)).text == "No problem. Send /survey whenever you have an idea."
    assert operator.rows("SELECT customer_id, question, answer FROM feedback_answers") == [
        {"customer_id": 1001, "question": "refer_more", "answer": "A bigger reward <b>for</b> teams & offices"}
    ]
    listing = await ask(slack, MAYA, "feedback")
    assert "• *Ana*, 2026-01-05: A bigger reward &lt;b&gt;for&lt;/b&gt; teams &amp; offices" in listing
    assert "No comments yet." in listing
    assert (await ask(slack, RITA, "feedback")).startswith("Sorry, `/referrals feedback` is for managers.")
