"""The outbox as people and operators see it: waits out 429s, gives up on blocked chats, keeps order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually, settings_for
from helpers import start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def test_a_429_is_waited_out_and_nothing_is_lost(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, clock: FakeClock
) -> None:
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    await telegram.send_command(telegram.user(1001, "Ana"), "start")
    await eventually(lambda: operator.count("outbox WHERE last_error IS NOT NULL") == 1)
    (row,) = operator.rows("SELECT status, attempts, next_attempt_at FROM outbox")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] == (clock.now() + timedelta(seconds=30)).isoformat(timespec="microseconds")
    clock.advance(timedelta(seconds=29))
    assert telegram.messages(1001) == []
    clock.advance(timedelta(seconds=2))
    (welcome,) = await telegram.wait_for_messages(1001, 1)
    assert welcome.text.startswith("Hi Ana")
    await eventually(
        lambda: operator.rows("SELECT status, attempts FROM outbox") == [{"status": "sent", "attempts": 2}]
    )


async def test_a_blocked_chat_becomes_a_dead_letter_for_operators(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    telegram.block_bot(1001)
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    await telegram.wait_for_messages(2001, 1)
    await eventually(lambda: operator.count("events WHERE kind = 'outbox.dead'") == 1)
    (dead,) = operator.rows("SELECT chat_id, status, last_error FROM outbox WHERE status = 'dead'")
    assert dead["chat_id"] == "1001" and "blocked" in dead["last_error"].lower()
    assert len(telegram.messages(1001)) == 1  # the thank-you never reached Ana, and is not retried forever


async def test_a_chats_messages_keep_their_order_through_a_failure(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, clock: FakeClock
) -> None:
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    await telegram.send_command(telegram.user(1001, "Ana"), "language")
    await eventually(lambda: operator.count("outbox WHERE last_error IS NOT NULL") == 1)
    await telegram.send_command(telegram.user(1001, "Ana"), "help")  # queued behind the failed one
    await eventually(lambda: operator.count("outbox") == 2)
    await asyncio.sleep(1.5)  # a dispatcher pass that must not send "help" ahead of "language"
    assert telegram.messages(1001) == []
    clock.advance(timedelta(minutes=5))
    first, second = await telegram.wait_for_messages(1001, 2)
    assert first.text == "Choose your language." and "/start" in second.text


async def test_shutdown_hands_back_rows_it_could_not_finish(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    engine = await build_engine(settings_for(telegram, operator.database), program, clock)
    async with engine:
        telegram.fail_with_429(retry_after=1, for_seconds=0.5, methods={"sendMessage"})
        await telegram.send_command(telegram.user(1001, "Ana"), "help")
        await eventually(lambda: operator.count("outbox") == 1)
    # However it ended, the row is not stranded under a lease: the next start may send it at once.
    assert operator.rows("SELECT status, lease_until FROM outbox") in (
        [{"status": "pending", "lease_until": None}],
        [{"status": "sent", "lease_until": None}],
    )
