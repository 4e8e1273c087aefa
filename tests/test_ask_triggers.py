"""Asks at the right moment ([[asks.triggers]]) and NPS-gated asks, end to end: a referral converts or the CRM reports
a purchase over HTTP, the clock moves on, and the customer reads the request in Telegram, once; whom the rules leave
out, and why, is what the operator's dry run says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.unit_of_work import Units
from bot.customers.services import CustomerServices
from bot.engagement.ask_triggers import TriggerSweep
from bot.engagement.trigger_plan import plan_triggers
from bot.program.rules import Program, load_program
from handlers.http.server import HttpServer
from messages import Renderer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import BOT_USERNAME, MAYA, ROOT, Operator, eventually, team_bot
from helpers import answer, ask, converted_referral, run, said, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

TOKEN = "crm-secret-token-1234"
TRIGGERS = """
[[asks.triggers]]
name = "after-conversion"
after = "conversion"
days = 3

[[asks.triggers]]
name = "after-purchase"
after = "purchase"
days = 1
min_value = 20
"""
ASK_BUTTONS = ["📣 Share in a chat", "✉️ Share", "📋 Copy link", "🙏 Not now", "🔕 Stop asking me"]
THANKS = {
    "en": "Thanks for your order, {}! If you enjoy Acme Coffee, chances are someone you know would too.",
    "es": "¡Gracias por tu pedido, {}! Si disfrutas de Acme Coffee, seguro que alguien que conoces también lo haría.",
    "fa": "از خریدتان ممنونیم، {}! اگر از Acme Coffee لذت می\u200cبرید، به احتمال زیاد یکی از آشنایانتان هم"
    " لذت خواهد برد.",
}
DETRACTOR = "unhappy: scored us 0 to 6 (NPS detractor)"


@pytest.fixture
def program(tmp_path: Path) -> Program:
    """The example program with a trigger after conversions and one after purchases of 20 or more."""
    path = tmp_path / "program.toml"
    path.write_text((ROOT / "program.example.toml").read_text(encoding="utf-8") + TRIGGERS, encoding="utf-8")
    return load_program(path)


def crm_bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AbstractAsyncContextManager[Engine]:
    """The whole bot, Telegram and Slack, with the CRM API on."""
    return team_bot(telegram, slack, program, clock, operator.database, crm_api_token=TOKEN)


@pytest.fixture
async def bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with crm_bot(telegram, slack, program, clock, operator) as running:
        yield running


@pytest.fixture
async def units(program: Program, clock: FakeClock, operator: Operator) -> AsyncIterator[Units]:
    """What `referral-bot triggers` opens beside the running bot (on the test's clock): a second instance."""
    store = await open_store(operator.url)
    try:
        yield CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None).units
    finally:
        await store.close()


async def purchase(bot: Engine, customer: int | str, body: Any, key: str | None = None) -> tuple[int, Any]:
    """The CRM reports a purchase: its answer's status and JSON."""
    headers = {"Authorization": f"Bearer {TOKEN}", **({"Idempotency-Key": key} if key else {})}
    url = f"http://127.0.0.1:{bot.part(HttpServer).port}/api/customers/{customer}/events"
    payload: dict[str, Any] = {"data": body} if isinstance(body, str) else {"json": body}
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers, **payload) as response:
        return response.status, await response.json()


def requests(telegram: TelegramEmulator, chat_id: int, opening: str) -> list[Any]:
    return [m for m in telegram.messages(chat_id) if m.text and m.text.startswith(opening)]


async def test_the_referrer_is_asked_three_days_after_their_referral_converts(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    sweep = bot.part(TriggerSweep)
    clock.advance(timedelta(days=2, hours=23))
    assert await sweep.sweep() == 0
    clock.advance(timedelta(hours=1))
    assert await sweep.sweep() == 1
    text = await said(telegram, 1001, "Thanks again, Ana")
    assert text.startswith("Thanks again, Ana: a friend you referred has become a customer of Acme Coffee. Who else")
    assert "15% off your first three deliveries" in text
    (request,) = requests(telegram, 1001, "Thanks again")
    assert [button["text"] for button in request.buttons()] == ASK_BUTTONS
    clock.advance(timedelta(days=40))
    assert await sweep.sweep() == 0
    assert operator.rows("SELECT customer_id, reason FROM asks") == [
        {"customer_id": 1001, "reason": "trigger:after-conversion"}
    ]


async def test_a_purchase_posted_twice_asks_once_a_day_later_in_each_language_even_from_two_instances(
    bot: Engine, units: Units, telegram: TelegramEmulator, clock: FakeClock, operator: Operator
) -> None:
    for user_id, name, language in ((1001, "Ana", "en"), (1002, "Bea", "es"), (1003, "Dara", "fa")):
        await start(telegram, user_id, name, language)
    body = {"type": "purchase", "value": "25.50"}
    first = await purchase(bot, 1001, body, key="order-1")
    asks = [{"trigger": "after-purchase", "due_at": "2026-01-06T09:00:00.000000+00:00"}]
    assert first == (200, {"customer": 1001, "type": "purchase", "value": "25.50", "asks": asks})
    assert await purchase(bot, 1001, body, key="order-1") == first  # the CRM's retry
    small = await purchase(bot, 1001, {"type": "purchase", "value": 5}, key="order-2")
    assert small == (200, {"customer": 1001, "type": "purchase", "value": "5", "asks": []})  # under min_value
    for customer in (1002, 1003):
        assert (await purchase(bot, customer, {"type": "purchase", "value": 30}))[0] == 200
    clock.advance(timedelta(hours=23, minutes=59))
    assert await bot.part(TriggerSweep).sweep() == 0
    clock.advance(timedelta(minutes=1))
    asked = await asyncio.gather(bot.part(TriggerSweep).sweep(), TriggerSweep(units).sweep())
    assert sum(asked) == 3
    for user_id, name, language in ((1001, "Ana", "en"), (1002, "Bea", "es"), (1003, "Dara", "fa")):
        thanks = THANKS[language].format(name)
        assert (await said(telegram, user_id, thanks[:15])).lstrip("\u200f").startswith(thanks)  # RLM: fa
    assert await bot.part(TriggerSweep).sweep() == 0
    await eventually(lambda: operator.count("outbox WHERE status = 'pending'") == 0)
    assert len(requests(telegram, 1001, "Thanks for your order")) == 1
    assert operator.count("events WHERE kind = 'customer.purchase'") == 4
    assert operator.rows("SELECT outcome, COUNT(*) AS n FROM ask_triggers GROUP BY outcome") == [
        {"outcome": "asked", "n": 3}
    ]


async def test_an_ask_waiting_for_its_day_survives_a_restart(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with crm_bot(telegram, slack, program, clock, operator) as first:
        await start(telegram, 1001, "Ana")
        assert (await purchase(first, 1001, {"type": "purchase", "value": 99}, key="order-9"))[0] == 200
    clock.advance(timedelta(days=2))
    async with crm_bot(telegram, slack, program, clock, operator):  # its sweep runs as it starts
        assert (await said(telegram, 1001, "Thanks for your order")).startswith("Thanks for your order, Ana!")


BAD_EVENTS: list[tuple[str, Any, str, str]] = [
    ("1001", {"type": "refund"}, "type", "type: Input should be 'purchase'"),
    ("1001", {"value": 10}, "type", "type: Field required"),
    ("1001", {"type": "purchase", "value": "-1"}, "value", "value: Input should be greater than or equal to 0"),
    ("1001", {"type": "purchase", "value": "1.005"}, "value", "value: Decimal input should have no more than 2"),
    ("1001", {"type": "purchase", "value": "lots"}, "value", "value: Input should be a valid decimal"),
    ("1001", {"type": "purchase", "amount": 1}, "amount", "amount: Extra inputs are not permitted"),
    ("1001", "{not json", "body", "body: not valid JSON"),
    ("ana", {"type": "purchase"}, "telegram_id", "telegram_id: a customer's Telegram user id, a whole number"),
]


async def test_bad_events_get_a_400_naming_the_field_and_store_nothing(
    bot: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    for customer, body, field, message in BAD_EVENTS:
        status, answer_ = await purchase(bot, customer, body)
        assert (status, answer_["field"]) == (400, field), body
        assert answer_["error"].startswith(message)
    status, answer_ = await purchase(bot, 1001, {"type": "purchase"}, key="k" * 201)
    assert (status, answer_["field"]) == (400, "Idempotency-Key")
    assert await purchase(bot, 4242, {"type": "purchase"}) == (404, {"error": "no customer with this Telegram user id"})
    assert operator.count("events WHERE kind = 'customer.purchase'") == operator.count("ask_triggers") == 0


async def test_a_customer_asked_recently_is_left_out_and_the_dry_run_says_so(
    bot: Engine, units: Units, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    assert (await ask(slack, MAYA, "ask customer")).startswith("*Asked 1 of 1*")
    clock.advance(timedelta(days=1))
    await purchase(bot, 1001, {"type": "purchase", "value": 40})
    assert (await plan_triggers(units)).lines(units.program.asks) == [
        "Dry run: nothing was sent or recorded. Times are in Europe/Madrid.",
        "Triggers:",
        "  after-conversion: 3 days after a referral of theirs converts",
        "  after-purchase: 1 day after a purchase of at least 20",
        "2026-01-07 10:00  after-purchase  Ana (tg:1001): left out: asked within the last 30 days",
        "Would ask 0 of 1.",
        "Left out: 1",
        "  asked within the last 30 days: 1",
    ]
    clock.advance(timedelta(days=1))
    assert await bot.part(TriggerSweep).sweep() == 0
    assert operator.rows("SELECT outcome FROM ask_triggers") == [{"outcome": "cooldown"}]
    clock.advance(timedelta(days=29))  # 31 days after the campaign's ask
    await purchase(bot, 1001, {"type": "purchase", "value": 40})
    clock.advance(timedelta(days=1))
    assert await bot.part(TriggerSweep).sweep() == 1
    assert (await said(telegram, 1001, "Thanks for your order")).startswith("Thanks for your order, Ana!")


async def test_an_ask_due_in_quiet_hours_waits_for_the_morning(
    bot: Engine, units: Units, telegram: TelegramEmulator, clock: FakeClock
) -> None:
    await start(telegram, 1001, "Ana")
    clock.advance(timedelta(hours=11, minutes=30))  # 21:30 in Madrid
    await purchase(bot, 1001, {"type": "purchase", "value": 40})
    planned = (await plan_triggers(units)).lines(units.program.asks)[4]
    assert planned == "2026-01-07 09:00 (after quiet hours)  after-purchase  Ana (tg:1001): would be asked"
    clock.advance(timedelta(days=1))  # due, but quiet
    assert await bot.part(TriggerSweep).sweep() == 0
    clock.advance(timedelta(hours=11, minutes=30))  # 09:00
    assert await bot.part(TriggerSweep).sweep() == 1
    assert (await said(telegram, 1001, "Thanks for your order")).startswith("Thanks for your order, Ana!")


async def test_a_detractor_is_never_asked_and_every_dry_run_says_why(
    bot: Engine, units: Units, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    for user_id, name in ((1001, "Ana"), (1002, "Ben"), (1003, "Cy")):
        await start(telegram, user_id, name)
    await answer(telegram, 1002, "Ben", 3)
    await answer(telegram, 1003, "Cy", 8)  # a passive: asked, as the program does not say otherwise
    for customer in (1001, 1002):
        await purchase(bot, customer, {"type": "purchase", "value": 40})
    lines = (await plan_triggers(units)).lines(units.program.asks)
    assert lines[4:] == [
        "2026-01-06 10:00  after-purchase  Ana (tg:1001): would be asked",
        f"2026-01-06 10:00  after-purchase  Ben (tg:1002): left out: {DETRACTOR}",
        "Would ask 1 of 2.",
        "Left out: 1",
        f"  {DETRACTOR}: 1",
    ]
    dry = await ask(slack, MAYA, "ask customer dry-run")
    assert "2 of 3 in _customer_ would be asked now" in dry and f"• {DETRACTOR}: 1" in dry
    clock.advance(timedelta(days=1))
    assert await bot.part(TriggerSweep).sweep() == 1
    assert (await said(telegram, 1001, "Thanks for your order")).startswith("Thanks for your order, Ana!")
    assert (await ask(slack, MAYA, "ask customer")).startswith("*Asked 1 of 3*")  # Cy; Ana was asked yesterday
    await eventually(lambda: operator.count("outbox WHERE status = 'pending'") == 0)
    assert operator.rows("SELECT customer_id FROM asks ORDER BY customer_id") == [
        {"customer_id": 1001},
        {"customer_id": 1003},
    ]
    assert operator.rows("SELECT outcome FROM ask_triggers WHERE customer_id = 1002") == [{"outcome": "detractor"}]
    assert not requests(telegram, 1002, "Hi Ben! Happy")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_dry_run_command_shows_who_would_be_asked_and_when(
    bot: Engine, telegram: TelegramEmulator, operator: Operator, tmp_path: Path
) -> None:
    await start(telegram, 1001, "Ana")
    program = tmp_path / "weekly.toml"
    schedule = '\n[[asks.triggers]]\nname = "weekly"\nafter = "schedule"\nevery = "week"\nweekday = "fri"\n'
    program.write_text((ROOT / "program.example.toml").read_text(encoding="utf-8") + schedule, encoding="utf-8")
    status, out, err = await run(
        tmp_path, "triggers", "--dry-run", PROGRAM_FILE=str(program), DATABASE_URL=operator.url
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[:3] == [
        "Dry run: nothing was sent or recorded. Times are in Europe/Madrid.",
        "Triggers:",
        "  weekly: every week on fri at 10:00",
    ]
    assert lines[3].endswith(" 10:00  weekly  Ana (tg:1001): would be asked")
    assert lines[4:] == ["Would ask 1 of 1."]
    assert operator.count("ask_triggers") == 0
