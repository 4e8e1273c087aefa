"""An update is confirmed to Telegram only after its effect is stored."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually, settings_for


@pytest.fixture
async def impatient_engine(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    """A bot whose writes give up after 300 ms when another process holds the database."""
    settings = settings_for(telegram, operator.path, sqlite_busy_timeout_ms=300)
    async with await build_engine(settings, program, clock) as running:
        yield running


async def test_an_update_that_cannot_be_stored_is_not_confirmed_and_is_retried(
    impatient_engine: Engine, telegram: TelegramEmulator, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    await telegram.send_command(telegram.user(1001, "Ana"), "help")
    await telegram.wait_for_messages(1001, 1)
    # Another process (a backup, an operator's sqlite3 shell) holds the write lock for a while.
    blocker = sqlite3.connect(operator.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        update_id = await telegram.send_command(telegram.user(1001, "Ana"), "start")
        await eventually(lambda: f"update {update_id} failed" in caplog.text)
        await asyncio.sleep(1.0)
        assert len(telegram.messages(1001)) == 1
        assert telegram.confirmed_offset <= update_id  # Telegram still holds the update
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    welcome = (await telegram.wait_for_messages(1001, 2, timeout=15))[1]
    assert welcome.text.startswith("Welcome back, Ana!")
    await eventually(lambda: telegram.confirmed_offset > update_id, timeout=5)
    assert operator.count("customers") == 1
    assert operator.rows("SELECT id FROM processed_inbound WHERE id = ?", f"tg:{update_id}") == [
        {"id": f"tg:{update_id}"}
    ]
