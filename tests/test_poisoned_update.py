"""One person's update that keeps failing holds up nobody else, and a failed inline query is dropped.

The failure is real: the database refuses to store one person (a trigger raises), as it would for a row that
breaks a constraint. Their update is parked and retried; everyone else's updates go on at once."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser

from conftest import Operator, eventually, settings_for

BACKENDS = ("sqlite", "postgresql")
POISON = "Poison"  # the first name the database refuses


async def refuse(operator: Operator) -> None:
    await asyncio.to_thread(_refuse, operator)  # off the loop: the bot's writer may hold the lock a moment


def _refuse(operator: Operator) -> None:
    if operator.schema is None:
        operator.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON customers WHEN NEW.first_name = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
        return
    operator.execute(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$"
    )
    operator.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON customers FOR EACH ROW"
        " WHEN (NEW.first_name = 'Poison') EXECUTE FUNCTION refuse_poison()"
    )


async def accept(operator: Operator) -> None:
    table = "" if operator.schema is None else " ON customers"
    await asyncio.to_thread(operator.execute, "DROP TRIGGER poison" + table)


async def reply_seconds(telegram: TelegramEmulator, person: FakeUser) -> float:
    started = time.monotonic()
    await telegram.send_command(person, "start")
    await telegram.wait_for_messages(person.id, 1, timeout=20)
    return time.monotonic() - started


async def test_a_failing_update_delays_no_one_else_and_inline_queries_are_answered_once(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    await refuse(operator)
    poison = telegram.user(666, POISON)
    ivy = telegram.user(700, "Ivy")
    poisoned = await telegram.send_command(poison, "start")
    await telegram.send_command(poison, "help")  # their own next update must wait behind the first
    await eventually(lambda: f"update {poisoned} failed" in caplog.text)

    queries: list[str] = []

    async def ivy_types() -> None:  # a customer typing in inline mode all along, as in the report
        while True:
            queries.append((await telegram.inline_query(ivy, "share"))[1])
            await asyncio.sleep(0.3)

    typing = asyncio.create_task(ivy_types())
    try:
        waits = []
        for n in range(8):  # over ~8 s: through the parked update's first retries (2, 4 s)
            waits.append(await reply_seconds(telegram, telegram.user(1000 + n, f"Cust{n}")))
            await asyncio.sleep(0.7)
    finally:
        typing.cancel()
    print(f"\nother people's /start replies: median {statistics.median(waits):.3f} s, max {max(waits):.3f} s")
    assert max(waits) <= 1.0, waits
    assert telegram.messages(poison.id) == []  # still refused, and their /help did not jump the queue
    assert telegram.confirmed_offset > poisoned  # Telegram is not left holding everyone's updates

    for query_id in queries[:-1]:
        assert len(await telegram.wait_for_inline_answer(query_id)) <= 1
    answers = [r for r in telegram.requests if r.method == "answerInlineQuery"]
    assert [r.description for r in answers if r.status != 200] == []  # no query answered twice ("too old")

    await accept(operator)  # the cause is fixed: the next retry goes through, in the person's own order
    welcome, help_text = await telegram.wait_for_messages(poison.id, 2, timeout=20)
    assert welcome.text is not None and welcome.text.startswith(f"Hi {POISON}, welcome")
    assert help_text.text is not None and "/refer" in help_text.text
    await eventually(lambda: operator.count("parked_updates") == 0)


async def test_an_update_that_never_succeeds_is_given_up_after_five_tries(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await refuse(operator)
    poisoned = await telegram.send_command(telegram.user(666, POISON), "start")
    await eventually(lambda: f"update {poisoned} failed 5 times; skipping it" in caplog.text, timeout=45)
    await eventually(lambda: operator.count("parked_updates") == 0)  # unparked just after that line
    assert operator.count("customers") == 0
    assert await reply_seconds(telegram, telegram.user(1001, "Ana")) <= 1.0


async def test_an_inline_answer_telegram_refuses_is_dropped_not_retried(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    telegram.fail_next("answerInlineQuery", 400, "Bad Request: query is too old and response timeout expired")
    update_id, query_id = await telegram.inline_query(telegram.user(700, "Ivy"), "share")
    await eventually(lambda: telegram.confirmed_offset > update_id)
    assert await reply_seconds(telegram, telegram.user(1001, "Ana")) <= 1.0
    assert [r.status for r in telegram.requests if r.method == "answerInlineQuery"] == [400]
    assert telegram.inline_answers(query_id) == []
    assert operator.count("parked_updates") == 0


async def test_a_parked_update_survives_a_restart(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    poison = telegram.user(666, POISON)
    settings = settings_for(telegram, operator.database)
    async with await build_engine(settings, program, clock):
        await refuse(operator)
        poisoned = await telegram.send_command(poison, "start")
        await eventually(lambda: f"update {poisoned} failed; parked" in caplog.text)
        assert telegram.confirmed_offset > poisoned  # from here on only our database holds it
    await accept(operator)
    async with await build_engine(settings, program, clock):
        (welcome,) = await telegram.wait_for_messages(poison.id, 1)
    assert welcome.text is not None and welcome.text.startswith(f"Hi {POISON}, welcome")
    assert operator.count("parked_updates") == 0
