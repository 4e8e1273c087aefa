"""A burst of friends through one referrer's link: the referrer hears of the first few at once, then of the rest
in merged messages at most once a minute, every friend named or counted exactly once, in their own language, and
across a restart of the bot in the middle of the burst."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import Operator, eventually, settings_for
from helpers import start

BACKENDS = ("sqlite", "postgresql")
ANA = 1001
FRIENDS = 2000  # friend i is Telegram user FRIENDS + i
SINGLE = re.compile(r"Thank you, Ana! (\S+) just joined Acme Coffee")
MERGED = re.compile(r"Thank you, Ana! (\d+) more friends just joined Acme Coffee through your invitation: (.+)\.\n")
WINDOW = timedelta(seconds=60)


@asynccontextmanager
async def bot(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    """The bot at Telegram's own burst for a chat (3 at once): the window lets that many through, then merges."""
    settings = settings_for(telegram, operator.database, telegram_chat_burst=3, notification_burst=3)
    async with await build_engine(settings, program, clock) as running:
        yield running


def name(i: int) -> str:
    return f"F{i:02d}"


async def arrive(
    telegram: TelegramEmulator, code: str, friends: Sequence[int], names: dict[int, str] | None = None
) -> None:
    """The friends open the link one after another, each within the same second, and each is welcomed."""
    for i in friends:
        await telegram.open_deep_link(telegram.user(FRIENDS + i, (names or {}).get(i, name(i))), code)
    for i in friends:
        await telegram.wait_for_messages(FRIENDS + i, 1, timeout=30)


def thank_yous(telegram: TelegramEmulator) -> list[SentMessage]:
    return [m for m in telegram.messages(ANA) if m.text.startswith("Thank you, Ana!") or "🎉" in m.text[:3]]


def census(messages: Sequence[SentMessage]) -> tuple[list[str], int]:
    """The friends the referrer was told of by name, and how many more only by count."""
    named, counted = [], 0
    for message in messages:
        if (single := SINGLE.match(message.text)) is not None:
            named.append(single.group(1))
        elif (merged := MERGED.search(message.text)) is not None:
            names = re.split(r", | and ", merged.group(2))
            others = re.fullmatch(r"(\d+) others", names[-1])
            if others is not None:
                counted += int(others.group(1))
                names = names[:-1]
            named += names
            assert len(names) + (int(others.group(1)) if others else 0) == int(merged.group(1)), message.text
        else:
            raise AssertionError(f"not a thank-you: {message.text!r}")
    return named, counted


async def test_thirty_friends_in_a_few_seconds_reach_the_referrer_as_four_messages(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot(telegram, program, clock, operator):
        code, _ = await start(telegram, ANA, "Ana")
        await arrive(telegram, code, range(30))
        await eventually(lambda: len(thank_yous(telegram)) == 3, timeout=10)
        # As written, one friend each: the friends who arrived first, in whatever order the bot took them.
        for message in thank_yous(telegram):
            assert re.match(r"Thank you, Ana! F\d\d just joined Acme Coffee through your invitation\.\n", message.text)
        clock.advance(WINDOW - timedelta(seconds=1))  # still inside the window: the rest keep waiting
        await telegram.wait_for_messages(FRIENDS + 29, 1)
        assert len(thank_yous(telegram)) == 3
        waiting = operator.rows("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = ? AND status = 'pending'", str(ANA))
        assert waiting == [{"n": 1}]  # the 27 thank-yous wait folded into one row: one message however they are claimed
        clock.advance(timedelta(seconds=1))
        await eventually(lambda: len(thank_yous(telegram)) == 4, timeout=10)
        merged = thank_yous(telegram)[3].text
        assert re.match(
            r"🎉 Thank you, Ana! 27 more friends just joined Acme Coffee through your invitation:"
            r" F\d\d, F\d\d, F\d\d, F\d\d, F\d\d and 22 others\.\n",
            merged,
        ), merged
        assert "on hold" in merged  # past the program's velocity limit, their rewards wait for a review
    named, counted = census(thank_yous(telegram))
    assert len(named) + counted == 30 and len(set(named)) == len(named)
    sent = operator.rows("SELECT COUNT(DISTINCT platform_message_id) AS n FROM outbox WHERE chat_id = ?", str(ANA))
    assert sent == [{"n": 5}]  # the welcome, three thank-yous and the merged one


async def test_a_burst_that_goes_on_merges_once_a_minute(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot(telegram, program, clock, operator):
        code, _ = await start(telegram, ANA, "Ana")
        await arrive(telegram, code, range(5))  # three at once, two wait for the minute
        clock.advance(timedelta(seconds=30))
        await arrive(telegram, code, range(5, 9), names={8: "<i>Zed</i> & Co"})  # join the same minute's message
        clock.advance(timedelta(seconds=30))
        await eventually(lambda: len(thank_yous(telegram)) == 4, timeout=10)
        assert "6 more friends just joined" in thank_yous(telegram)[3].text
        assert thank_yous(telegram)[3].text.count("<i>Zed</i> & Co") == 1  # shown as typed, not as markup
        clock.advance(timedelta(seconds=10))
        await arrive(telegram, code, range(9, 12))  # the next minute's: they wait for it
        clock.advance(timedelta(seconds=49))
        await telegram.wait_for_messages(FRIENDS + 11, 1)
        assert len(thank_yous(telegram)) == 4
        clock.advance(timedelta(seconds=1))
        await eventually(lambda: len(thank_yous(telegram)) == 5, timeout=10)
        assert re.search(
            r"3 more friends just joined Acme Coffee through your invitation: F\d\d, F\d\d and F\d\d\.",
            thank_yous(telegram)[4].text,
        )
    named, counted = census(thank_yous(telegram))
    assert sorted(named[-3:]) == ["F09", "F10", "F11"] and (len(set(named)), counted) == (12, 0)


async def test_a_merged_thank_you_speaks_spanish_and_persian(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot(telegram, program, clock, operator):
        code_es, _ = await start(telegram, ANA, "Ana", language="es")
        code_fa, _ = await start(telegram, 1002, "Sara", language="fa")
        await arrive(telegram, code_es, range(6))
        await arrive(telegram, code_fa, range(10, 20))
        clock.advance(WINDOW)
        await eventually(lambda: len(telegram.messages(ANA)) == 5 and len(telegram.messages(1002)) == 5, timeout=10)
    spanish = telegram.messages(ANA)[-1].text
    assert re.match(
        r"🎉 ¡Gracias, Ana! 3 amigos más acaban de unirse a Acme Coffee gracias a tu invitación: F0\d, F0\d y F0\d\.\n",
        spanish,
    ), spanish
    persian = telegram.messages(1002)[-1].text
    assert persian.startswith("\u200f🎉 Sara، ممنونیم! ۷ دوست دیگر همین حالا با دعوت شما به Acme Coffee پیوستند:")
    assert re.search(r": F1\d، F1\d، F1\d، F1\d، F1\d و ۲ نفر دیگر\.\n", persian), persian
    assert all(line.startswith("\u200f") for line in persian.split("\n") if line.strip())  # right to left throughout


async def test_a_restart_in_the_middle_of_a_burst_neither_loses_nor_repeats_a_friend(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot(telegram, program, clock, operator):
        code, _ = await start(telegram, ANA, "Ana")
        await arrive(telegram, code, range(15))
        await eventually(lambda: len(thank_yous(telegram)) == 3, timeout=10)
    async with bot(telegram, program, clock, operator):  # the same database: twelve wait for their minute
        await arrive(telegram, code, range(15, 30))
        clock.advance(WINDOW)
        await eventually(lambda: len(thank_yous(telegram)) == 4, timeout=10)
        assert "27 more friends just joined" in thank_yous(telegram)[3].text
    async with bot(telegram, program, clock, operator):  # and again once all is sent: nothing goes twice
        clock.advance(WINDOW)
        await telegram.wait_for_messages(ANA, 5)
        unsent = "SELECT id FROM outbox WHERE chat_id = ? AND status <> 'sent'"
        await eventually(lambda: not operator.rows(unsent, str(ANA)), timeout=5)
        assert len(thank_yous(telegram)) == 4
    named, counted = census(thank_yous(telegram))
    assert len(named) + counted == 30 and len(set(named)) == len(named)
    sent = operator.rows("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = ? AND status = 'sent'", str(ANA))
    assert sent == [{"n": 5}]  # the welcome, three thank-yous and the one the other 27 were folded into


async def test_the_referrer_s_own_answers_do_not_wait_behind_the_thank_yous(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot(telegram, program, clock, operator):
        code, _ = await start(telegram, ANA, "Ana")
        await arrive(telegram, code, range(6))
        await eventually(lambda: len(thank_yous(telegram)) == 3, timeout=10)
        before = len(telegram.messages(ANA))
        await telegram.send_command(telegram.user(ANA, "Ana"), "help")  # three thank-yous wait for the minute
        (answer,) = (await telegram.wait_for_messages(ANA, before + 1))[before:]
        assert "/refer" in answer.text and not answer.text.startswith("🎉")


async def test_with_a_burst_of_one_the_referrer_hears_of_the_first_friend_at_once_and_of_the_rest_a_minute_later(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    """NOTIFICATION_BURST=1: a referrer whose link goes viral gets one message a minute."""
    settings = settings_for(telegram, operator.database, notification_burst=1)
    async with await build_engine(settings, program, clock):
        code, _ = await start(telegram, ANA, "Ana")
        await arrive(telegram, code, range(10))
        await eventually(lambda: len(thank_yous(telegram)) == 1, timeout=10)
        clock.advance(WINDOW - timedelta(seconds=1))
        await telegram.wait_for_messages(FRIENDS + 9, 1)
        assert len(thank_yous(telegram)) == 1
        clock.advance(timedelta(seconds=1))
        await eventually(lambda: len(thank_yous(telegram)) == 2, timeout=10)
        assert MERGED.search(thank_yous(telegram)[1].text) is not None
    named, counted = census(thank_yous(telegram))
    assert len(named) + counted == 10 and len(set(named)) == len(named)
