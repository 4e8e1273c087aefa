"""Webhook mode: only Telegram, holding the secret token, gets an update in, and only once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.program.rules import Program
from bot.program.settings import load_settings
from handlers.telegram.channel import TelegramChannel
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually, settings_for

SECRET = "s3cret-token-for-the-webhook"
URL = "https://bot.example.com/telegram/hook"


@pytest.fixture
async def hooked(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    settings = settings_for(
        telegram,
        operator.path,
        telegram_webhook_url=URL,
        telegram_webhook_secret=SECRET,
        telegram_webhook_host="127.0.0.1",
        telegram_webhook_port=0,
    )
    async with await build_engine(settings, program, clock) as engine:
        webhook = engine.part(TelegramChannel).webhook
        assert webhook is not None
        await eventually(lambda: webhook.port is not None)  # the route opens once the engine runs
        yield engine


async def deliver(engine: Engine, update: dict[str, Any], secret: str | None) -> int:
    webhook = engine.part(TelegramChannel).webhook
    assert webhook is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{webhook.port}/telegram/hook"
        async with session.post(url, json=update, headers=headers) as response:
            return response.status


async def test_the_webhook_is_registered_with_its_secret(hooked: Engine, telegram: TelegramEmulator) -> None:
    (call,) = [r for r in telegram.requests if r.method.lower() == "setwebhook"]
    assert call.params["url"] == URL and call.params["secret_token"] == SECRET


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_with_403(
    hooked: Engine, telegram: TelegramEmulator, operator: Operator, secret: str | None
) -> None:
    update_id = await telegram.send_command(telegram.user(1001, "Ana"), "start")
    assert await deliver(hooked, telegram.update(update_id), secret) == 403
    assert operator.count("customers") == 0 and operator.count("processed_inbound") == 0


async def test_an_update_with_the_secret_is_answered_once(
    hooked: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    update = telegram.update(await telegram.send_command(telegram.user(1001, "Ana"), "start"))
    assert await deliver(hooked, update, SECRET) == 200
    (welcome,) = await telegram.wait_for_messages(1001, 1)
    assert welcome.text.startswith("Hi Ana, welcome")
    assert await deliver(hooked, update, SECRET) == 200  # Telegram redelivers it
    assert await deliver(hooked, {"not": "an update"}, SECRET) == 400
    assert operator.count("customers") == 1 and len(telegram.messages(1001)) == 1


def test_a_webhook_needs_https_and_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", URL)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET: set 16 or more"):
        load_settings(_env_file=None)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://bot.example.com/hook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL: Telegram only calls https"):
        load_settings(_env_file=None)
