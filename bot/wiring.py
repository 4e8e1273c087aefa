"""The composition root: settings and program in, a running engine out. The only module that
joins the domain to the platform adapters."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.outbox import Dispatcher, DispatchPolicy
from bot.program import Program
from bot.services import CustomerServices
from handlers.telegram import TelegramChannel, TelegramSender, build_application
from handlers.telegram.routes import Routes
from messages import Renderer
from storage import Store, open_store


async def open_migrated_store(settings: Settings) -> Store:
    try:
        store = await open_store(settings.database_url, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
        await store.migrate()
    except Exception as exc:  # the database missing, read-only or corrupt: say so in one line
        raise ConfigError(f"setting DATABASE_URL: cannot open {settings.database_url}: {exc}") from None
    return store


async def build_engine(
    settings: Settings, program: Program, clock: Clock | None = None, policy: DispatchPolicy | None = None
) -> Engine:
    """Everything `referral-bot run` runs: the Telegram channel and the outbox dispatcher."""
    if not settings.telegram_bot_token:
        raise ConfigError("setting TELEGRAM_BOT_TOKEN: required to run the bot")
    clock = clock or SystemClock()
    stack = AsyncExitStack()
    try:
        store = await open_migrated_store(settings)
        stack.push_async_callback(store.close)
        app = build_application(settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_file_base_url)
        channel = await stack.enter_async_context(TelegramChannel(app, settings.telegram_poll_timeout))
        dispatcher = Dispatcher(store, {"telegram": TelegramSender(app.bot)}, clock, policy)
        renderer = Renderer(settings.templates_dir)
        services = CustomerServices.build(store, program, renderer, app.bot.username, clock, dispatcher.wake)
        menus = services.screens.command_menu()
        await channel.install(Routes(services), menus, program.program.default_locale)
    except BaseException:
        await stack.aclose()
        raise
    return Engine([channel, dispatcher], stack)
