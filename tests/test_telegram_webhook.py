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


async def post_raw(engine: Engine, body: bytes) -> int:
    webhook = engine.part(TelegramChannel).webhook
    assert webhook is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{webhook.port}/telegram/hook"
        async with session.post(url, data=body, headers=headers) as response:
            return response.status


NEVER_AN_UPDATE = {
    "a list": b"[1, 2, 3]",
    "a string": b'"update"',
    "a number": b"42",
    "null": b"null",
    "not JSON": b"{not json",
    "not UTF-8": b'{"update_id": "\xff"}',
    "a message that is a string": b'{"update_id": 7, "message": "hello"}',
    "a sender that is a list": b'{"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 1,'
    b' "type": "private"}, "from": [1], "text": "/start"}}',
    "a text that is a number": b'{"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 1001,'
    b' "type": "private"}, "from": {"id": 1001, "is_bot": false, "first_name": "Ana"}, "text": 5}}',
    "a user id that is text": b'{"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 1001,'
    b' "type": "private"}, "from": {"id": "Ana", "is_bot": false, "first_name": "Ana"}, "text": "/start"}}',
    "an update_id that is text": b'{"update_id": "seven"}',
    "an update_id of NaN": b'{"update_id": NaN}',
    "an update_id of Infinity": b'{"update_id": Infinity}',
    "an update_id that is a fraction": b'{"update_id": 7.5}',
    "an update_id that is true": b'{"update_id": true}',
    "no update_id": b'{"message": {}}',
    "deep nesting": b'{"update_id": 7, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nesting too deep for an update": b'{"update_id": 7, "message": ' + b'{"a": ' * 500 + b"1" + b"}" * 501,
}


@pytest.mark.parametrize("body", NEVER_AN_UPDATE.values(), ids=NEVER_AN_UPDATE.keys())
async def test_a_body_that_can_never_be_an_update_is_refused_with_400_and_logged(
    hooked: Engine,
    telegram: TelegramEmulator,
    operator: Operator,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    caplog.set_level("WARNING", logger="handlers.telegram.webhook")
    assert await post_raw(hooked, body) == 400  # not 500, which Telegram would retry for ever
    (line,) = [r for r in caplog.records if r.name == "handlers.telegram.webhook"]
    assert line.levelname == "WARNING" and "not a Telegram update" in line.getMessage()
    assert operator.count("processed_inbound") == 0 and operator.count("customers") == 0
    update = telegram.update(await telegram.send_command(telegram.user(1001, "Ana"), "start"))
    assert await deliver(hooked, update, SECRET) == 200  # the next good update still goes through
    (welcome,) = await telegram.wait_for_messages(1001, 1)
    assert welcome.text.startswith("Hi Ana, welcome")
