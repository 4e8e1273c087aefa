"""Fixtures: the Telegram emulator, the program, and the bot running against both in-process."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.demo import TOKEN
from bot.demo import emulator_settings as settings_for
from bot.engine import Engine
from bot.program import Program, load_program
from bot.wiring import build_engine
from sandbox.telegram_api import TelegramEmulator

ROOT = Path(__file__).resolve().parent.parent
BOT_USERNAME = "AcmeReferralBot"


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, bot_username=BOT_USERNAME, bot_name="Acme Referrals") as emulator:
        yield emulator


@pytest.fixture
def program() -> Program:
    return load_program(ROOT / "program.example.toml")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Operator:
    """What an operator sees: the database file, read with the plain sqlite3 client."""

    path: Path

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.path) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql, params)]

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    return Operator(tmp_path / "referrals.db")


@pytest.fixture
async def engine(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with await build_engine(settings_for(telegram, operator.path), program, clock) as running:
        yield running


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds, for effects that land asynchronously (an outbox send)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
