"""The Telegram emulator's send limits, driven by the real python-telegram-bot client: the overall rate, and the rate
inside one chat that Telegram also enforces (off unless a test or a benchmark asks for it)."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import RetryAfter

from sandbox import TelegramEmulator

TOKEN = "123456:TEST-TOKEN"
ANA, BEN = 1001, 1002


@pytest.fixture(autouse=True)
def _retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB warns when RetryAfter is built unless opted in, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN) as emulator:
        emulator.user(ANA, "Ana")
        emulator.user(BEN, "Ben")
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


async def test_without_a_chat_limit_one_chat_takes_any_number_of_messages(emu: TelegramEmulator, bot: Bot) -> None:
    for n in range(10):
        await bot.send_message(ANA, f"message {n}")
    assert len(emu.messages(ANA)) == 10


async def test_past_its_burst_a_chat_answers_429_while_other_chats_go_on(emu: TelegramEmulator, bot: Bot) -> None:
    emu.limit_chat_rate(per_second=1.0, burst=2)
    await bot.send_message(ANA, "one")
    await bot.send_message(ANA, "two")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(ANA, "three")
    assert refused.value.retry_after == dt.timedelta(seconds=1)  # Telegram's parameters.retry_after, in whole seconds
    await bot.send_message(BEN, "to another chat")

    assert [m.text for m in emu.messages(ANA)] == ["one", "two"]
    assert [m.text for m in emu.messages(BEN)] == ["to another chat"]
    statuses = [(r.params["chat_id"], r.status) for r in emu.requests if r.method == "sendMessage"]
    assert statuses == [(ANA, 200), (ANA, 200), (ANA, 429), (BEN, 200)]


async def test_a_chat_gets_its_turn_back_at_the_rate(emu: TelegramEmulator, bot: Bot) -> None:
    emu.limit_chat_rate(per_second=20.0, burst=1)  # a fast rate, so the test waits only a twentieth of a second
    await bot.send_message(ANA, "first")
    with pytest.raises(RetryAfter):
        await bot.send_message(ANA, "too soon")
    await asyncio.sleep(0.06)
    await bot.send_message(ANA, "in its turn")
    assert [m.text for m in emu.messages(ANA)] == ["first", "in its turn"]


async def test_a_send_the_overall_limit_refuses_spends_nothing_of_the_chats_turn(
    emu: TelegramEmulator, bot: Bot
) -> None:
    emu.limit_rate(per_second=0.001, burst=1)
    emu.limit_chat_rate(per_second=0.001, burst=1)
    await bot.send_message(ANA, "the bot's one message")
    with pytest.raises(RetryAfter):  # refused overall, before this chat's own limit counts it
        await bot.send_message(BEN, "over the overall limit")
    emu.limit_rate(per_second=30.0, burst=30)  # the overall limit lifted: Ben's chat still has its turn
    await bot.send_message(BEN, "now")
    assert [m.text for m in emu.messages(BEN)] == ["now"]
