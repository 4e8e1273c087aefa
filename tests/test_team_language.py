"""Slack in the team's language: channel posts in TEAM_LOCALE, and what one person reads alone (a slash command's
answer, a modal, a DM) in their own language as Slack's users.info gives it, where the app may ask."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, Operator, team_bot
from helpers import ask, current, refer_ben

BACKENDS = ("sqlite", "postgresql")
MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # business hours, so the SLA timers run


def speaks(slack: SlackEmulator, user: str, locale: str) -> None:
    """The person set Slack's language to `locale` (a person added again keeps their id and channels)."""
    slack.add_user(user, user.lower(), real_name=user, locale=locale)


def users_info_errors(slack: SlackEmulator) -> list[str | None]:
    return [call.error for call in slack.calls if call.method == "users.info"]


async def test_a_spanish_team_reads_the_alert_its_buttons_and_its_thread_in_spanish(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database, team_locale="es"):
        alert = await refer_ben(telegram, slack)
        shown = alert.plain()
        assert "*Nueva recomendación* · Ben, de parte de *Ana*" in shown
        assert "Abrió el enlace personal" in shown  # the source, as the team's labels name it
        assert "Esperando a que alguien se la asigne" in shown
        labels = [button["text"] for button in alert.buttons()]
        assert labels[:5] == ["Asignarme", "Contactada", "Convertida", "Perdida", "Señalar"]
        assert "Guion de llamada" in labels
        await slack.click(RITA, alert, "referral_claim")
        (audit,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        assert audit.text.startswith(f":raising_hand: <@{RITA}>")
        assert "claimed it" not in audit.text and "min" in audit.text
        await slack.wait_for(lambda: "*Asignada* a" in current(slack, alert).plain(), what="the card redrawn")


async def test_a_persian_rep_reads_her_answers_and_her_nudge_in_persian_while_the_channel_stays_spanish(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    speaks(slack, RITA, "fa-IR")
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database, team_locale="es"):
        alert = await refer_ben(telegram, slack)
        assert "*Nueva recomendación*" in alert.plain()
        answer = await ask(slack, RITA, "help")
        assert answer.startswith("*/referrals* نشان می‌دهد")
        assert operator.rows("SELECT user_id, locale FROM team_members") == [{"user_id": RITA, "locale": "fa"}]
        await slack.click(RITA, alert, "referral_claim")
        (audit,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        assert "claimed it" not in audit.text and "پذیرفت" not in audit.text  # the thread is the team's: Spanish
        clock.advance(timedelta(minutes=61))
        await slack.wait_for(lambda: len(slack.dm(RITA)) == 1, what="the contact nudge")
        nudge = slack.dm(RITA)[0].text
        assert nudge.startswith(":alarm_clock: ۶۱ دقیقه پیش Ben را پذیرفتید.")  # her digits too
        assert "لطفاً با او تماس بگیرید" in nudge
    # One users.info for the command and the click together: the answer is kept for an hour.
    assert users_info_errors(slack) == [None]


async def test_without_the_users_read_scope_everyone_reads_the_team_locale_and_nothing_breaks(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    operator: Operator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    speaks(slack, RITA, "fa-IR")
    slack.scopes.discard("users:read")
    clock = FakeClock(MONDAY_10_MADRID)
    caplog.set_level(logging.WARNING, logger="handlers.slack.readers")
    async with team_bot(telegram, slack, program, clock, operator.database, team_locale="es"):
        alert = await refer_ben(telegram, slack)
        answer = await ask(slack, RITA, "help")
        assert answer.startswith("*/referrals* muestra cómo va el programa")
        await slack.click(RITA, alert, "referral_claim")
        await slack.wait_for(lambda: "*Asignada* a" in current(slack, alert).plain(), what="the claim applied")
        await slack.click(RITA, alert, "referral_contacted")
        await slack.click(RITA, alert, "referral_converted")
        (modal,) = slack.views(RITA)
        assert modal["title"]["text"] == "Marcar como convertida"
        clock.advance(timedelta(minutes=5))
        second = await ask(slack, RITA, "pending")
        assert "Esperando" in second or "No hay nada pendiente" in second
    # Slack said once that the scope is missing; the bot did not ask again within the hour, and said so once.
    assert users_info_errors(slack) == ["missing_scope"]
    refused = next(call for call in slack.calls if call.method == "users.info")
    assert refused.ok is False
    warnings = [record.getMessage() for record in caplog.records if "users:read" in record.getMessage()]
    assert len(warnings) == 1
    assert operator.rows("SELECT status FROM referrals") == [{"status": "contacted"}]


async def test_a_modal_and_its_error_are_in_the_language_of_the_rep_who_opened_it(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    speaks(slack, RITA, "es-MX")
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):  # the team speaks English
        alert = await refer_ben(telegram, slack)
        assert alert.buttons()[0]["text"] == "Claim"
        await slack.click(RITA, alert, "referral_claim")
        await slack.click(RITA, alert, "referral_contacted")
        await slack.click(RITA, alert, "referral_converted")
        (modal,) = slack.views(RITA)
        assert modal["title"]["text"] == "Marcar como convertida"
        assert modal["blocks"][0]["label"]["text"] == "Valor de la venta (opcional)"
        assert modal["blocks"][0]["hint"]["text"] == "Un número, como 1200 o 1200,50"
        refused = await slack.submit_view(RITA, modal["id"], {"answer": {"value": "mucho"}})
        assert refused.json == {
            "response_action": "errors",
            "errors": {"answer": "Escribe un importe como 1200, 1.200,50 o 1,200.50, por favor."},
        }
        await slack.submit_view(RITA, modal["id"], {"answer": {"value": "1.200,50"}})
        await slack.wait_for(lambda: "*Converted*" in current(slack, alert).plain(), what="converted, in English")
    assert operator.rows("SELECT deal_value FROM referrals") == [{"deal_value": "1200.50"}]


async def test_a_language_the_bot_does_not_speak_leaves_the_team_locale(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    speaks(slack, RITA, "de-DE")
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database, team_locale="fa"):
        await refer_ben(telegram, slack)
        assert (await ask(slack, RITA, "help")).startswith("*/referrals* نشان می‌دهد")
    assert operator.rows("SELECT locale FROM team_members") == [{"locale": None}]
