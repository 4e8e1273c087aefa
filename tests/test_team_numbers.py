"""Figures in the team's language: a Spanish team reads "1.200,50 EUR" and "100,0 %", a Persian reader "۱٬۲۰۰٫۵۰ EUR"
and "۱۰۰٫۰٪", on the alert card, in its thread and in `/referrals stats`; a friend without a name is "a friend" in
the card's language. English reads as it always did (the English tests assert its texts)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from bot.core.clock import FakeClock
from bot.program.rules import Program
from bot.reports.stats import EXPORT_COLUMNS
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, MAYA, RITA, Operator, eventually, team_bot
from helpers import ask, current, refer_ben

BACKENDS = ("sqlite", "postgresql")
MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NBSP = "\xa0"  # Spanish keeps a percentage's number and sign on one line


async def ben_converts(slack: SlackEmulator, operator: Operator, alert: SlackMessage, value: str) -> None:
    """Rita claims Ben, contacts him and converts him, typing the deal value the way she writes numbers."""
    for action in ("referral_claim", "referral_contacted", "referral_converted"):
        await slack.click(RITA, alert, action)
    modal = slack.views(RITA)[-1]
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": value}})
    await eventually(lambda: operator.count("referrals WHERE status = 'converted'") == 1)


async def test_a_spanish_team_reads_the_deal_value_and_the_stats_the_spanish_way(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    slack.add_user(MAYA, "maya", real_name="Maya Manager", locale="es-ES")  # her answers are in her language
    async with team_bot(telegram, slack, program, FakeClock(MONDAY_10_MADRID), operator.database, team_locale="es"):
        alert = await refer_ben(telegram, slack)
        await ben_converts(slack, operator, alert, "1.200,50")
        await slack.wait_for(
            lambda: "*Convertida* · valor de la venta 1.200,50 EUR" in current(slack, alert).plain(),
            what="the card with the deal value",
        )
        thread = await slack.wait_for_messages(ALERTS, 3, thread_ts=alert.ts)
        assert "(valor de la venta 1.200,50 EUR)" in thread[-1].text
        stats = await ask(slack, MAYA, "stats")
        assert f"Tasa de conversión: *100,0{NBSP}%*" in stats
        assert "*Dinero*: ingresos *1.200,50 EUR*" in stats
        assert f"*1* de 40 conversiones (3{NBSP}%" in stats  # the program's quarterly goal
        money = await ask(slack, MAYA, "stats money")
        assert "Ingresos: *1.200,50 EUR* de 1 conversión" in money
        assert "1,200.50" not in stats + money
    assert operator.rows("SELECT deal_value FROM referrals") == [{"deal_value": "1200.50"}]


async def test_a_persian_manager_reads_persian_digits_while_the_channel_stays_spanish(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    slack.add_user(MAYA, "maya", real_name="Maya Manager", locale="fa-IR")
    async with team_bot(telegram, slack, program, FakeClock(MONDAY_10_MADRID), operator.database, team_locale="es"):
        alert = await refer_ben(telegram, slack)
        await ben_converts(slack, operator, alert, "1200.50")
        await slack.wait_for(
            lambda: "valor de la venta 1.200,50 EUR" in current(slack, alert).plain(), what="the channel's card"
        )
        stats = await ask(slack, MAYA, "stats")
        assert "نرخ تبدیل: *۱۰۰٫۰٪*" in stats
        assert "*مالی*: درآمد *۱٬۲۰۰٫۵۰ EUR*" in stats
        assert "*۱* از ۴۰" in stats and "(۳٪" in stats  # the goal
        money = await ask(slack, MAYA, "stats money")
        assert "درآمد: *۱٬۲۰۰٫۵۰ EUR* از ۱ مشتری جدید" in money
        assert "100.0%" not in stats and "1,200.50" not in stats + money


async def test_a_forgotten_friend_is_a_friend_in_the_teams_language(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    async with team_bot(telegram, slack, program, FakeClock(MONDAY_10_MADRID), operator.database, team_locale="fa"):
        alert = await refer_ben(telegram, slack)
        ben = telegram.user(2001, "Ben")
        await telegram.send_command(ben, "forget")

        def prompts() -> list[SentMessage]:  # the question itself, whatever of Ben's welcome is still arriving
            return [m for m in telegram.messages(2001) if "forget:yes" in [b.get("callback_data") for b in m.buttons()]]

        await eventually(lambda: bool(prompts()))
        await telegram.press_button(ben, prompts()[0], "forget:yes")
        await slack.wait_for(
            lambda: current(slack, alert).text.startswith("معرفی جدید: یک دوست (از طرف Ana)"),
            what="the card redrawn without Ben's name",
        )
        assert "A friend" not in current(slack, alert).plain()


async def test_a_spanish_managers_export_has_its_header_in_spanish_and_the_same_columns(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    slack.add_user(MAYA, "maya", real_name="Maya Manager", locale="es-ES")
    async with team_bot(telegram, slack, program, FakeClock(MONDAY_10_MADRID), operator.database):
        await refer_ben(telegram, slack)
        answer = await ask(slack, MAYA, "export all")
        assert answer == "Aquí tienes el registro de recomendaciones desde el principio: 1 evento."
        (shared,) = slack.files(slack.dm_channel(MAYA))
        header, row = list(csv.reader(io.StringIO(shared.content.decode())))
        assert header[:5] == ["fecha_evento", "evento", "estado_anterior", "por", "id_recomendacion"]
        assert len(header) == len(EXPORT_COLUMNS) and row[header.index("nombre_amistad")] == "Ben"
