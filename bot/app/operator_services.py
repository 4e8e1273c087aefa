"""Domain services for an operator's command (`ask`, `import-advocates`, `forget`, ...), beside the running bot:
what they queue, the bot sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.error import NetworkError

from bot.app.wiring import open_migrated_store
from bot.app.wiring_outside import outside_of
from bot.core.clock import SystemClock
from bot.core.errors import ConfigError
from bot.customers.services import CustomerServices
from bot.program.rules import Program
from bot.program.settings import Settings
from handlers.telegram import build_application
from handlers.telegram.channel import close_transports, telegram_unreachable
from messages import Renderer


@asynccontextmanager
async def operator_services(
    settings: Settings, program: Program, links: bool = True
) -> AsyncIterator[CustomerServices]:
    """The domain services for an operator's command, beside the running bot: what they queue, the bot sends."""
    store = await open_migrated_store(settings)
    try:
        username = await _bot_username(settings) if links else ""
        renderer = Renderer(settings.templates_dir)
        outside = outside_of(settings)
        yield CustomerServices.build(
            store,
            program,
            renderer,
            username,
            SystemClock(),
            lambda: None,
            outside=outside,
            team_locale=settings.team_locale,
        )
    finally:
        await store.close()


async def _bot_username(settings: Settings) -> str:
    """Links in queued messages name the bot, so ask Telegram who it is (getMe), as the running bot does."""
    if not settings.telegram_bot_token:
        raise ConfigError("setting TELEGRAM_BOT_TOKEN: required, as the messages carry links to the bot")
    bot = build_application(settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_file_base_url).bot
    try:
        await bot.initialize()
    except Exception as exc:  # a wrong token, or no network: one line for the operator
        await close_transports(bot)
        if isinstance(exc, NetworkError):
            raise telegram_unreachable(bot, exc) from None
        raise ConfigError(f"setting TELEGRAM_BOT_TOKEN: Telegram did not say who the bot is ({exc})") from None
    try:
        return str(bot.username)
    finally:
        await bot.shutdown()
