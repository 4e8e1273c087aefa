"""The bot's HTTP clients for the Bot API and the Slack Web API: kept-alive connections, and clear failures.

A new connection per call costs a TCP and TLS handshake with Telegram or Slack on every message, which is what
speed to lead cannot afford; these tests read, from the emulators, which connection each call came over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.core.engine import Engine
from handlers.telegram.aiohttp_request import AiohttpRequest
from handlers.telegram.channel import build_application
from handlers.telegram.sender import qr_png
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS
from helpers import start


async def test_the_bot_api_is_called_over_kept_alive_connections(telegram: TelegramEmulator) -> None:
    for user_id in (1001, 1002, 1003):
        await telegram.send_command(telegram.user(user_id, f"Person{user_id}"), "start")
    app = build_application(telegram.token, telegram.base_url, telegram.base_file_url)
    async with app:
        updates = await app.bot.get_updates(timeout=0)
        for user_id in (1001, 1002, 1003):
            await app.bot.send_message(user_id, f"<b>Hello</b> {user_id}", parse_mode="HTML")
        photo = await app.bot.send_photo(1001, qr_png("https://t.me/AcmeReferralBot?start=x"), caption="Your QR")
    assert len(updates) == 3
    assert photo.caption == "Your QR" and photo.photo  # a multipart upload goes through the same transport
    assert [m.text for m in telegram.messages(1002)] == ["Hello 1002"]
    sends = {r.connection for r in telegram.requests if r.method in ("sendMessage", "sendPhoto")}
    polls = {r.connection for r in telegram.requests if r.method == "getUpdates"}
    assert len(sends) == 1 and None not in sends  # four messages, one connection
    assert len(polls) == 1 and polls != sends  # getUpdates keeps a connection of its own


@pytest.fixture
async def silent_api() -> AsyncIterator[str]:
    """A Bot API address that accepts requests and never answers them."""

    async def never(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.Response()

    server = web.Application()
    server.router.add_post("/{path:.*}", never)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    await runner.cleanup()


async def test_a_bot_api_that_does_not_answer_times_out(silent_api: str) -> None:
    bot = Bot("123:TOKEN", base_url=silent_api, request=AiohttpRequest(read_timeout=0.2))
    await bot.request.initialize()
    try:
        with pytest.raises(TimedOut):
            await bot.get_me()
    finally:
        await bot.request.shutdown()


async def test_a_bot_api_that_cannot_be_reached_is_a_network_error() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        bot = Bot("123:TOKEN", base_url="http://127.0.0.1:9/bot", request=request)  # the discard port: refused
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
            await bot.get_me()
    finally:
        await request.shutdown()


async def test_slack_is_called_over_one_kept_alive_connection(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    for user_id, name in ((2001, "Ben"), (2002, "Cleo"), (2003, "Dan")):
        await telegram.open_deep_link(telegram.user(user_id, name), code)
    alerts = await slack.wait_for_messages(ALERTS, 3)
    for name in ("Ben", "Cleo", "Dan"):
        assert sum(f"{name} was referred by *Ana*" in alert.plain() for alert in alerts) == 1
    posts = [call for call in slack.calls if call.method == "chat.postMessage"]
    assert len(posts) == 3
    assert len({call.connection for call in slack.calls} - {None}) == 1  # auth.test, the checks and every alert
