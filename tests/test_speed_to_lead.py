"""Speed to lead in view: the alert card shows how long the referral has waited in business time and is redrawn as
the SLA timers fire; `/referrals pending` puts the longest waits first with their SLA state; and the managers get a
weekly summary each Monday at 09:00 business time, once, whatever restarts and instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.customers.services import CustomerServices
from bot.program.rules import Program
from bot.team.alerts import Alerts, Team
from bot.team.weekly import WeeklySummary
from handlers.slack.channel import SlackChannel
from messages import Renderer
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import ALERTS, BOT_USERNAME, MAYA, RITA, SAM, Operator, settings_for, slack_settings, team_bot
from helpers import ask, current, refer_ben

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LUIS = "U0LUIS"  # a second manager, whose Slack is in Spanish


async def arrives(
    telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, user_id: int, name: str
) -> SlackMessage:
    """Another friend opens Ana's link; returns their alert."""
    code = operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"]
    before = len(slack.messages(ALERTS))
    await telegram.open_deep_link(telegram.user(user_id, name), code)
    return (await slack.wait_for_messages(ALERTS, before + 1))[before]


async def card_says(slack: SlackEmulator, alert: SlackMessage, words: str) -> str:
    await slack.wait_for(lambda: words in current(slack, alert).plain(), what=f"the card to say {words!r}")
    return current(slack, alert).plain()


async def test_the_card_shows_the_wait_and_is_redrawn_when_the_claim_nudge_fires(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        assert ":hourglass: Waiting 0 min (claim target 5 min)" in alert.plain()
        assert "arrived" not in alert.plain()
        clock.advance(timedelta(minutes=5, seconds=10))
        await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)  # the claim nudge
        text = await card_says(slack, alert, "Waiting 5 min (claim target 5 min — overdue)")
        assert "Waiting to be claimed" in text and "Waiting 0 min" not in text
        await slack.click(RITA, alert, "referral_claim")
        await card_says(slack, alert, "Waiting 5 min, claimed 0 min ago (contact target 1 h 0 min)")
        clock.advance(timedelta(minutes=61))  # the contact nudge redraws it too
        await card_says(slack, alert, "Waiting 1 h 6 min, claimed 1 h 1 min ago (contact target 1 h 0 min — overdue)")
        await slack.click(RITA, alert, "referral_contacted")
        text = await card_says(slack, alert, ":stopwatch: First contact after 1 h 6 min (target 1 h 5 min — missed)")
        assert ":hourglass:" not in text


async def test_the_wait_counts_business_hours_only(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(datetime(2026, 1, 9, 16, 58, tzinfo=UTC))  # Friday 17:58 in Madrid, two minutes before closing
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        clock.advance(timedelta(days=2, hours=15, minutes=5))  # Monday 09:03 in Madrid: the claim nudge
        text = await card_says(slack, alert, "Waiting 5 min (claim target 5 min — overdue)")  # not the weekend
        assert "Waiting 2 d" not in text


async def test_pending_lists_the_longest_wait_first_with_its_sla_state(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        await refer_ben(telegram, slack)
        clock.advance(timedelta(minutes=16))  # Ben: nudged, then escalated to the managers
        cal = await arrives(telegram, slack, operator, 2002, "Cal")
        await slack.click(RITA, cal, "referral_claim")
        await card_says(slack, cal, "Claimed")
        clock.advance(timedelta(minutes=7))
        await arrives(telegram, slack, operator, 2003, "Dee")
        clock.advance(timedelta(minutes=6))  # Dee: nudged
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="Ben's escalation")
        pending = await ask(slack, SAM, "pending")
    lines = pending.split("\n")
    assert lines[0] == "*Waiting for the team* (3)"
    assert lines[1:] == [
        "• Ben (from Ana): *unclaimed* · waiting 29 min · 🔴 escalated (claim target 5 min)",
        f"• Cal (from Ana): claimed by <@{RITA}>, not yet contacted · waiting 13 min · ⚪ on time (13 min of 1 h 0 min"
        " to contact)",
        "• Dee (from Ana): *unclaimed* · waiting 6 min · 🟠 nudged (claim target 5 min)",
    ]


async def test_a_claimed_referral_past_its_contact_target_is_shown_late(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        await slack.click(RITA, alert, "referral_claim")
        await card_says(slack, alert, "Claimed")
        clock.advance(timedelta(minutes=70))
        pending = await ask(slack, RITA, "pending")
    assert pending.split("\n")[1] == (
        f"• Ben (from Ana): claimed by <@{RITA}>, not yet contacted · waiting 1 h 10 min"
        " · 🔴 past target (1 h 10 min since the claim, contact target 1 h 0 min)"
    )


@asynccontextmanager
async def managed_bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    """The whole bot with two managers: Maya, and Luis, who reads Slack in Spanish."""
    settings = settings_for(
        telegram, operator.database, **{**slack_settings(slack), "slack_manager_ids": f"{MAYA},{LUIS}"}
    )
    async with await build_engine(settings, program, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        yield running


def summaries(slack: SlackEmulator, user: str) -> list[str]:
    return [m.text for m in slack.dm(user) if m.text.startswith(":stopwatch:")]


async def a_week_of_referrals(
    telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    """Monday 5 January in Madrid: Ben is contacted in 20 min, Cal in 90 (past the 65-min target), Dee never."""
    ben = await refer_ben(telegram, slack)  # 10:00
    clock.advance(timedelta(minutes=2))
    await slack.click(RITA, ben, "referral_claim")
    await card_says(slack, ben, "Claimed")
    clock.advance(timedelta(minutes=18))
    await slack.click(RITA, ben, "referral_contacted")
    await card_says(slack, ben, "First contact after 20 min")
    clock.advance(timedelta(minutes=40))  # 11:00
    cal = await arrives(telegram, slack, operator, 2002, "Cal")
    clock.advance(timedelta(minutes=2))
    await slack.click(SAM, cal, "referral_claim")
    await card_says(slack, cal, "Claimed")
    clock.advance(timedelta(minutes=88))
    await slack.click(SAM, cal, "referral_contacted")
    await card_says(slack, cal, "First contact after 1 h 30 min")
    dee = await arrives(telegram, slack, operator, 2003, "Dee")  # 12:30
    await slack.click(RITA, dee, "referral_claim")
    await card_says(slack, dee, "Claimed")


async def test_the_weekly_summary_reaches_each_manager_on_monday_at_nine_once(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    slack.add_user(LUIS, "luis", real_name="Luis Gerente", locale="es-ES")
    slack.add_channel(ALERTS, "referrals", members={RITA, SAM, MAYA, LUIS})
    clock = FakeClock(MONDAY_10_MADRID)
    async with managed_bot(telegram, slack, program, clock, operator) as bot:
        await ask(slack, LUIS, "help")  # the bot learns the language Luis reads
        await a_week_of_referrals(telegram, slack, clock, operator)
        assert await bot.part(WeeklySummary).sweep() == 0  # the week before had nothing
        clock.advance(datetime(2026, 1, 12, 7, 59, tzinfo=UTC) - clock.now())  # Monday 08:59 in Madrid
        assert await bot.part(WeeklySummary).sweep() == 0
        await asyncio.sleep(0.5)
        assert summaries(slack, MAYA) == [] and summaries(slack, LUIS) == []
    clock.advance(timedelta(minutes=2))  # 09:01: the bot starts again, and sends it as it starts
    async with managed_bot(telegram, slack, program, clock, operator) as bot:
        await slack.wait_for(
            lambda: bool(summaries(slack, MAYA) and summaries(slack, LUIS)), what="the weekly summaries"
        )
        assert await bot.part(WeeklySummary).sweep() == 0
        assert await another_instance(program, clock, operator) == 0
    clock.advance(timedelta(days=3))  # later the same week, after another restart: nothing again
    async with managed_bot(telegram, slack, program, clock, operator) as bot:
        assert await bot.part(WeeklySummary).sweep() == 0
        await asyncio.sleep(0.5)
    (english,) = summaries(slack, MAYA)
    assert english.split("\n") == [
        ":stopwatch: *Speed to lead, week of 2026-01-05 to 2026-01-11*",
        "Median time to first contact: *55 min*, against a target of 1 h 5 min (in business hours).",
        "1 of 3 referrals contacted within the target · 1 still not contacted",
        "*The slowest*",
        f"• Dee · <@{RITA}> · 41 h 31 min, still waiting",
        f"• Cal · <@{SAM}> · 1 h 30 min",
        f"• Ben · <@{RITA}> · 20 min",
    ]
    (spanish,) = summaries(slack, LUIS)
    assert spanish.startswith(":stopwatch: *Rapidez de contacto, semana del 2026-01-05 al 2026-01-11*")
    assert "1 de 3 recomendaciones contactadas dentro del objetivo · 1 aún sin contactar" in spanish
    assert operator.count("events WHERE kind = 'speed.weekly_summary'") == 1


async def another_instance(program: Program, clock: FakeClock, operator: Operator) -> int:
    """A second process on the same database, running one pass of its own weekly part."""
    store = await open_store(operator.url)
    try:
        alerts = Alerts(Team(ALERTS, frozenset({MAYA, LUIS})))
        units = CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None, alerts).units
        return await WeeklySummary(units).sweep()
    finally:
        await store.close()


def test_a_long_pending_list_is_cut_with_a_count_of_the_rest() -> None:
    row = {"friend": "Ben", "referrer": "Ana", "status": "new", "assignee": None, "age": "3 min"}
    rows = [row | {"state": "on_time", "stage": "3 min", "target": "5 min"}] * 2
    text = Renderer().slack("pending", "en", rows=rows, more=7)
    assert text.split("\n")[0] == "*Waiting for the team* (9) · the 2 longest waits"
    assert text.split("\n")[-1] == "…and 7 more."
    assert "…y 7 más." in Renderer().slack("pending", "es", rows=rows, more=7)
