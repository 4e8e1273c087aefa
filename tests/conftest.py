"""Fixtures: the Telegram emulator, the program, and the bot running against both in-process; and the domain
alone, on a real store, for the fast unit tests."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from bot.app.demo import TOKEN, emulator_settings
from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.models import ChatUser
from bot.customers.services import CustomerServices
from bot.program.rules import Program, load_program
from bot.program.settings import Settings
from bot.team.alerts import Alerts, Team
from bot.team.workflow import TeamService
from handlers.slack.channel import SlackChannel
from messages import Renderer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from postgres import Schema, fresh_schema

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


FAST = {
    "telegram_chat_rate_per_second": 200.0,
    "telegram_chat_burst": 20,
    "notification_burst": 20,  # a referrer's thank-yous merge only where a test asks for it
    "slack_channel_rate_per_second": 200.0,
}


def settings_for(telegram: TelegramEmulator, database: Path | str, **overrides: Any) -> Settings:
    """Emulator settings with per-chat limits lifted, so tests wait only for what they test."""
    return emulator_settings(telegram, database, **{**FAST, **overrides})


@dataclass
class Operator:
    """What an operator sees: the database, read with the plain sqlite3 client or with psql's library."""

    path: Path
    schema: Schema | None = None  # set when the bot runs on PostgreSQL

    @property
    def database(self) -> Path | str:
        """What the bot is given: the SQLite file, or the PostgreSQL DATABASE_URL."""
        return self.schema.url if self.schema else self.path

    @property
    def url(self) -> str:
        return self.schema.url if self.schema else f"sqlite:///{self.path}"

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        if self.schema is not None:
            return self.schema.rows(sql, *params)
        with sqlite3.connect(self.path) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql, params)]

    def execute(self, sql: str, *params: Any) -> None:
        """A change made by hand, outside the bot."""
        if self.schema is not None:
            self.schema.execute(sql, *params)
            return
        with sqlite3.connect(self.path) as connection:
            connection.execute(sql, params)

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets BACKENDS = ("sqlite", "postgresql") runs every test on each; the rest on SQLite, unless a
    test names its backends itself (`@pytest.mark.parametrize("backend", [...], indirect=True)`)."""
    chosen = any(marker.args[0] == "backend" for marker in metafunc.definition.iter_markers("parametrize"))
    if "backend" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("backend", getattr(metafunc.module, "BACKENDS", ("sqlite",)), indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def operator(tmp_path: Path, backend: str) -> Iterator[Operator]:
    if backend == "postgresql":
        with fresh_schema() as schema:
            yield Operator(tmp_path / "referrals.db", schema)
    else:
        yield Operator(tmp_path / "referrals.db")


@pytest.fixture
async def engine(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with await build_engine(settings_for(telegram, operator.database), program, clock) as running:
        yield running


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds, for effects that land asynchronously (an outbox send)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


# --- The Slack side -------------------------------------------------------------------------------

ALERTS = "C0ALERTS"
RITA, SAM, MAYA = "U0RITA", "U0SAM", "U0MAYA"  # two reps and a manager


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(bot_token="xoxb-test", app_token="xapp-test", signing_secret="test-secret") as emulator:
        emulator.add_user(RITA, "rita", real_name="Rita Rep")
        emulator.add_user(SAM, "sam", real_name="Sam Sales")
        emulator.add_user(MAYA, "maya", real_name="Maya Manager")
        emulator.add_channel(ALERTS, "referrals", members={RITA, SAM, MAYA})
        yield emulator


def slack_settings(slack: SlackEmulator, mode: str = "http") -> dict[str, Any]:
    return {
        "slack_bot_token": "xoxb-test",
        "slack_api_url": slack.api_url,
        "slack_signing_secret": "test-secret" if mode == "http" else "",
        "slack_app_token": "xapp-test" if mode == "socket" else "",
        "slack_http_host": "127.0.0.1",
        "slack_http_port": 0,
        "slack_alert_channel": ALERTS,
        "slack_manager_ids": MAYA,
    }


@asynccontextmanager
async def team_bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    database: Path | str,
    mode: str = "http",
    **overrides: Any,
) -> AsyncIterator[Engine]:
    """The whole bot, Telegram and Slack, against both emulators; `overrides` are other settings (crm_api_token)."""
    settings = settings_for(telegram, database, **slack_settings(slack, mode), **overrides)
    async with await build_engine(settings, program, clock) as running:
        if mode == "http":
            slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        else:
            slack.mode = "socket"
            await slack.wait_for_socket()
        yield running


@pytest.fixture
async def team(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with team_bot(telegram, slack, program, clock, operator.database) as running:
        yield running


# --- The browser -----------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Path:
    """Debian's chromium; missing, the browser tests fail unless SKIP_BROWSER=1 says to skip them (never silently)."""
    if not CHROMIUM.exists():
        if os.environ.get("SKIP_BROWSER") == "1":
            pytest.skip("SKIP_BROWSER=1 and /usr/bin/chromium is missing: the web pages are not tested in a browser")
        pytest.fail(
            "the browser tests need Debian's chromium at /usr/bin/chromium: `apt-get install -y chromium` (as root, "
            "`make test` installs it), or set SKIP_BROWSER=1 to skip these tests"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


# --- The domain alone -----------------------------------------------------------------------------


@dataclass
class Domain:
    """The domain services on a real SQLite store and a fake clock, with no chat platform: what they queue for a
    person is read from the outbox, the rows the dispatcher would send."""

    services: CustomerServices
    team: TeamService
    clock: FakeClock
    operator: Operator
    _events: Iterator[int] = field(default_factory=itertools.count)

    def inbound(self) -> str:
        """A fresh inbound id, as each Telegram update or Slack action has its own."""
        return f"test:{next(self._events)}"

    async def start(self, user_id: int, name: str, payload: str | None = None) -> None:
        """A person sends /start (with a deep-link payload when they came through a link)."""
        await self.services.referrals.start(self.inbound(), ChatUser(user_id, name, language_code="en"), payload)

    def outbox(self, platform: str, chat_id: int | str) -> list[dict[str, Any]]:
        """The payloads queued for one chat, oldest first."""
        sql = "SELECT payload FROM outbox WHERE platform = ? AND chat_id = ? ORDER BY rowid"
        return [json.loads(row["payload"]) for row in self.operator.rows(sql, platform, str(chat_id))]


@pytest.fixture
async def domain(program: Program, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Domain]:
    operator = Operator(tmp_path / "referrals.db")
    store = await open_store(operator.url)
    await store.migrate()
    alerts = Alerts(Team(ALERTS, frozenset({MAYA})))
    services = CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None, alerts)
    try:
        yield Domain(services, TeamService(services.units, alerts), clock, operator)
    finally:
        await store.close()
