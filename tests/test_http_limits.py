"""Every HTTP server the bot runs (the CRM API and metrics, the Telegram webhook, Slack's HTTP mode) closes
connections that never send a whole request, and refuses connections past its cap, so idle clients cannot hold
its file descriptors; what a client on 127.0.0.1 sees of that is all these tests read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from handlers.http.server import HttpServer
from handlers.slack.channel import SlackChannel
from handlers.telegram.channel import TelegramChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually, settings_for, slack_settings

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _webhook_port(engine: Engine) -> int | None:
    webhook = engine.part(TelegramChannel).webhook
    return webhook.port if webhook is not None else None


# Each server: how to find its port, and a real request it answers (with any status: it got through).
SERVERS: dict[str, tuple[Callable[[Engine], int | None], str, str]] = {
    "http": (lambda engine: engine.part(HttpServer).port, "GET", "/healthz"),
    "telegram_webhook": (_webhook_port, "POST", "/telegram/hook"),
    "slack_events": (lambda engine: engine.part(SlackChannel).port, "POST", "/slack/events"),
}


@asynccontextmanager
async def bot_with_limits(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    **limits: float,
) -> AsyncIterator[Engine]:
    settings = settings_for(
        telegram,
        operator.database,
        **slack_settings(slack),
        telegram_webhook_url="https://bot.example.com/telegram/hook",
        telegram_webhook_secret="s3cret-token-for-the-webhook",
        telegram_webhook_host="127.0.0.1",
        telegram_webhook_port=0,
        **limits,
    )
    async with await build_engine(settings, program, clock) as engine:
        await eventually(lambda: _webhook_port(engine) is not None)  # the webhook opens once the engine runs
        yield engine


async def closed_within(connection: Connection, seconds: float) -> bool:
    """Whether the server closes (or resets) the connection within `seconds`, while the client sends nothing more."""
    reader, _ = connection
    try:
        return await asyncio.wait_for(reader.read(1024), seconds) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def request(port: int, method: str, path: str) -> int:
    async with aiohttp.ClientSession() as session, session.request(method, f"http://127.0.0.1:{port}{path}") as answer:
        return answer.status


@pytest.mark.parametrize("server", SERVERS)
async def test_a_connection_that_sends_no_whole_request_is_closed_in_time(
    server: str,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
) -> None:
    limits = {"http_header_timeout_seconds": 0.5}
    async with bot_with_limits(telegram, slack, program, clock, operator, **limits) as engine:
        port_of, _, path = SERVERS[server]
        port = port_of(engine)
        assert port is not None
        silent = await asyncio.open_connection("127.0.0.1", port)
        half = await asyncio.open_connection("127.0.0.1", port)
        half[1].write(f"GET {path[:4]}".encode())  # half a request line, and then nothing
        assert await closed_within(silent, 3.0) and await closed_within(half, 3.0)
        for connection in (silent, half):
            connection[1].close()


@pytest.mark.parametrize("server", SERVERS)
async def test_connections_past_the_cap_are_refused_until_others_close(
    server: str,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
) -> None:
    limits = {"http_header_timeout_seconds": 30.0, "http_max_connections": 3}
    async with bot_with_limits(telegram, slack, program, clock, operator, **limits) as engine:
        port_of, method, path = SERVERS[server]
        port = port_of(engine)
        assert port is not None
        idle = []
        for _ in range(3):
            idle.append(await asyncio.open_connection("127.0.0.1", port))
            await asyncio.sleep(0.05)  # the server takes each in before the next arrives
        assert not await closed_within(idle[0], 0.2)  # within the cap: kept open
        refused = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_within(refused, 2.0)  # past the cap: refused at once
        refused[1].close()
        idle[0][1].close()
        for attempt in range(40):  # once the server has seen that one go, a real request gets through
            try:
                assert await request(port, method, path) >= 200  # an answer, whatever it says
                break
            except aiohttp.ClientError:
                assert attempt < 39, "no request got through after a connection closed"
                await asyncio.sleep(0.05)
        for connection in idle[1:]:
            connection[1].close()
