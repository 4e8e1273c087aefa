"""Asking customers to refer: campaigns from Slack, cooldowns, caps, quiet hours, opting out, the one reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.engagement.ask_sweep import FollowUpSweep
from bot.program.rules import Program, load_program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, MAYA, RITA, ROOT, Operator, team_bot
from helpers import start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

ASK_BUTTONS = ["📣 Share in a chat", "✉️ Share", "📋 Copy link", "🙏 Not now", "🔕 Stop asking me"]


@pytest.fixture
def program() -> Program:
    """The example program with a 10-day cooldown, so the cap of 3 asks in 90 days can be reached."""
    example = load_program(ROOT / "program.example.toml")
    return example.model_copy(update={"asks": example.asks.model_copy(update={"cooldown_days": 10})})


async def ask(slack: SlackEmulator, text: str, user: str = MAYA) -> str:
    """A /referrals ask in Slack, and the answer the person sees."""
    seen = len(slack.responses)
    await slack.slash_command(user, "/referrals", f"ask {text}", channel_id=ALERTS)
    await slack.wait_for(lambda: len(slack.responses) > seen, what="the answer to /referrals ask")
    return str(slack.responses[seen]["text"])


async def nth_message(telegram: TelegramEmulator, chat_id: int, n: int) -> SentMessage:
    return (await telegram.wait_for_messages(chat_id, n))[n - 1]


def labels(message: SentMessage) -> list[str]:
    return [button["text"] for button in message.buttons()]


async def test_a_manager_asks_a_segment_and_each_customer_gets_the_request_with_share_buttons(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    await start(telegram, 1002, "Bea", language="es")
    answer = await ask(slack, "customer")
    assert answer.startswith("*Asked 2 of 2* in _customer_")
    request = await nth_message(telegram, 1001, 2)
    assert request.text.startswith("Hi Ana! Happy with Acme Coffee?")
    assert "Who is a great fit" in request.text and "Offices of 5 to 50 people" in request.text
    assert "15% off your first three deliveries" in request.text
    assert labels(request) == ASK_BUTTONS
    spanish = await nth_message(telegram, 1002, 2)
    assert spanish.text.startswith("¡Hola, Bea! ¿Contento con Acme Coffee?")
    assert labels(spanish)[-2:] == ["🙏 Ahora no", "🔕 No me lo pidas más"]
    rows = operator.rows("SELECT customer_id, kind, reason FROM asks ORDER BY customer_id")
    assert [(r["customer_id"], r["kind"]) for r in rows] == [(1001, "ask"), (1002, "ask")]
    assert all(r["reason"].startswith("campaign:") for r in rows)


async def test_the_variants_own_ask_copy_replaces_the_pitch(
    telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator, program: Program
) -> None:
    from bot.program.sections import LocalizedText, Variant

    from conftest import team_bot

    pitch = LocalizedText(en="Coffee tastes better shared. Who should try it?")
    custom = program.model_copy(update={"variants": (Variant(name="a", ask=pitch),)})
    async with team_bot(telegram, slack, custom, clock, operator.database):
        await start(telegram, 1001, "Ana")
        await ask(slack, "customer")
        request = await nth_message(telegram, 1001, 2)
    assert request.text.startswith("Coffee tastes better shared. Who should try it?")
    assert "Who is a great fit" in request.text


async def test_cooldown_and_cap_hold_across_time(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    await start(telegram, 1001, "Ana")
    assert (await ask(slack, "customer")).startswith("*Asked 1 of 1*")
    clock.advance(timedelta(days=5))
    answer = await ask(slack, "customer")
    assert answer.startswith("*Asked 0 of 1*")
    assert "• asked within the last 10 days: 1" in answer
    for days in (6, 11):  # days 11 and 22
        clock.advance(timedelta(days=days))
        assert (await ask(slack, "customer")).startswith("*Asked 1 of 1*")
    clock.advance(timedelta(days=11))  # day 33: three asks in the last 90 days
    assert "• already asked 3 times in 90 days: 1" in await ask(slack, "customer")
    clock.advance(timedelta(days=58))  # day 91: the first ask is out of the window
    assert (await ask(slack, "customer")).startswith("*Asked 1 of 1*")
    assert len(await telegram.wait_for_messages(1001, 5)) == 5  # the welcome and four requests


async def test_quiet_hours_run_past_midnight_in_the_business_time_zone(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")  # 10:00 in Madrid
    steps = [(10 * 60 + 59, "1 of 1"), (1, "0 of 1"), (4 * 60, "0 of 1"), (7 * 60 + 59, "0 of 1"), (1, "1 of 1")]
    seen = []  # 20:59 asks; 21:00, 01:00 and 08:59 are quiet; 09:00 asks again
    for minutes, expected in steps:
        clock.advance(timedelta(minutes=minutes))
        answer = await ask(slack, "customer dry-run")
        seen.append(expected in answer)
        if expected == "0 of 1":
            assert "• quiet hours now: 1" in answer
    assert seen == [True] * 5
    assert operator.count("asks") == 0


async def test_a_dry_run_changes_nothing_and_says_so_with_every_reason(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    await start(telegram, 1002, "Ben")
    await start(telegram, 1003, "Cy")
    await ask(slack, "customer")
    await telegram.send_command(telegram.user(1003, "Cy"), "stop")
    await telegram.wait_for_messages(1003, 3)
    await start(telegram, 1004, "Dee")
    outbox = operator.count("outbox")
    answer = await ask(slack, "customer dry-run")
    assert answer.startswith("*Dry run: nothing was sent or recorded.* 1 of 4 in _customer_ would be asked now.")
    assert "• opted out of asks: 1" in answer and "• asked within the last 10 days: 2" in answer
    assert operator.count("asks") == 3 and operator.count("outbox") == outbox
    assert len(operator.rows("SELECT id FROM events WHERE kind = 'ask.campaign'")) == 1  # the real one only


async def test_segments_outside_the_program_and_unknown_ones_are_explained(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    await telegram.wait_for_messages(2001, 1)
    answer = await ask(slack, "prospect")
    assert answer.startswith("*Asked 0 of 1* in _prospect_")
    assert "• not in a segment the program asks: 1" in answer
    assert (await ask(slack, "partner")).endswith("Nobody is in that segment yet.")
    unknown = await ask(slack, "vip")
    assert unknown == (
        "There is no segment called `vip`. Use `/referrals ask <segment> [dry-run]`, where the segment is one of: "
        "`inner_circle`, `customer`, `past_customer`, `partner`, `prospect`."
    )


async def test_asking_is_for_managers_only(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    refused = await ask(slack, "customer", user=RITA)
    assert refused.startswith("Sorry, `/referrals ask` is for managers.")
    assert operator.count("asks") == 0
    seen = len(slack.responses)
    await slack.slash_command(MAYA, "/referrals", "help", channel_id=ALERTS)
    await slack.wait_for(lambda: len(slack.responses) > seen, what="help")
    assert "`/referrals ask <segment> [dry-run]`" in slack.responses[seen]["text"]


async def test_stop_asking_me_opts_out_once_and_not_now_only_acknowledges(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    await start(telegram, 1002, "Ben")
    await ask(slack, "customer")
    ana, ben = telegram.user(1001, "Ana"), telegram.user(1002, "Ben")
    later = await telegram.press_button(ben, await nth_message(telegram, 1002, 2), "ask:later")
    stop = await telegram.press_button(ana, await nth_message(telegram, 1001, 2), "ask:stop")
    assert (await nth_message(telegram, 1002, 3)).text.startswith("No problem. Your link is always there")
    stopped = await nth_message(telegram, 1001, 3)
    assert stopped.text.startswith("Done: we will not ask you to refer anyone again.")
    assert labels(stopped) == ["Resume reminders"]
    await telegram.replay(stop)
    await telegram.replay(later)
    await telegram.send_command(ana, "help")  # answered after the replays, which had no effect
    await telegram.send_command(ben, "help")
    assert len(await telegram.wait_for_messages(1001, 4)) == len(await telegram.wait_for_messages(1002, 4)) == 4
    rows = operator.rows("SELECT telegram_id, asks_opted_out FROM customers ORDER BY telegram_id")
    assert rows == [{"telegram_id": 1001, "asks_opted_out": 1}, {"telegram_id": 1002, "asks_opted_out": 0}]


async def test_one_reminder_to_those_who_did_not_share_never_a_second(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    for user_id, name in ((1001, "Ana"), (1002, "Ben"), (1003, "Cy")):
        await start(telegram, user_id, name)
    await ask(slack, "customer")
    ben, cy = telegram.user(1002, "Ben"), telegram.user(1003, "Cy")
    await telegram.press_button(ben, await nth_message(telegram, 1002, 1), "qr")  # Ben shares his QR code
    await telegram.press_button(cy, await nth_message(telegram, 1003, 2), "ask:stop")
    await telegram.wait_for_messages(1002, 3)
    await telegram.wait_for_messages(1003, 3)
    sweep = team.part(FollowUpSweep)
    clock.advance(timedelta(days=6, hours=23))
    assert await sweep.sweep() == 0
    clock.advance(timedelta(hours=1))
    assert await sweep.sweep() == 1
    reminder = await nth_message(telegram, 1001, 3)
    assert reminder.text.startswith("A quick reminder, Ana: your friends still get")
    assert "This is the only reminder we send." in reminder.text
    assert labels(reminder) == ASK_BUTTONS
    clock.advance(timedelta(days=30))
    assert await sweep.sweep() == 0
    assert [len(telegram.messages(chat)) for chat in (1001, 1002, 1003)] == [3, 3, 3]
    rows = operator.rows("SELECT customer_id, kind FROM asks WHERE kind = 'follow_up'")
    assert rows == [{"customer_id": 1001, "kind": "follow_up"}]


async def test_a_program_can_turn_reminders_off(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    no_reminders = program.model_copy(update={"asks": program.asks.model_copy(update={"follow_up_after_days": 0})})
    async with team_bot(telegram, slack, no_reminders, clock, operator.database) as engine:
        await start(telegram, 1001, "Ana")
        await ask(slack, "customer")
        await nth_message(telegram, 1001, 2)
        clock.advance(timedelta(days=60))
        assert await engine.part(FollowUpSweep).sweep() == 0
        assert len(telegram.messages(1001)) == 2  # the welcome and the ask, no reminder


async def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    await start(telegram, 1001, "Ana")
    await ask(slack, "customer")  # Monday 10:00 in Madrid
    sweep = team.part(FollowUpSweep)
    clock.advance(timedelta(days=7, hours=11, minutes=30))  # 21:30 a week later
    assert await sweep.sweep() == 0
    clock.advance(timedelta(hours=11))  # 08:30
    assert await sweep.sweep() == 0
    clock.advance(timedelta(minutes=30))  # 09:00
    assert await sweep.sweep() == 1
    assert (await nth_message(telegram, 1001, 3)).text.startswith("A quick reminder, Ana")
