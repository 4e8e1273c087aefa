"""The composition root: settings and program in, a running engine out. The only module that
joins the domain to the platform adapters."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from telegram.ext import Application

from bot.app.startup_checks import check_database_writable
from bot.app.wiring_outside import outside_of, outside_parts, outside_summary, stop_bounced
from bot.app.wiring_team import team_parts
from bot.core.clock import Clock, SystemClock
from bot.core.engine import Engine, Part, collect_cycles_less_often
from bot.core.errors import ConfigError, unreachable
from bot.core.models import OutboxRow
from bot.core.notifications import NotificationWindow
from bot.core.pruner import Pruner
from bot.customers.services import CustomerServices
from bot.delivery.outbox import Dispatcher, DispatchPolicy, Sender
from bot.delivery.rate_limits import ChatRate
from bot.engagement.ask_sweep import FollowUpSweep
from bot.engagement.ask_triggers import TriggerSweep
from bot.engagement.feedback_sweep import FeedbackSweep
from bot.integrations.crm import CrmService
from bot.integrations.webhooks import Webhooks
from bot.program.kit_screens import KIT_FILE
from bot.program.rules import Program
from bot.program.settings import Settings, hide_password, run_problems, slack_problems
from bot.reports.metrics import Health, Metrics
from bot.team.alerts import Alerts, Team
from bot.team.workflow import TeamService
from handlers.http.crm_api import CrmApi
from handlers.http.listen import Limits
from handlers.http.metrics_routes import routes as metrics_routes
from handlers.http.server import HttpServer
from handlers.http.webhook_sender import WebhookSender
from handlers.slack.channel import SlackChannel
from handlers.telegram import TelegramChannel, TelegramSender, build_application
from handlers.telegram.channel import Webhook
from handlers.telegram.coalescing import CoalescingSender
from handlers.telegram.flood import FloodGuard
from handlers.telegram.kit_sender import KitFileSender
from handlers.telegram.routes import Routes
from messages import Renderer
from storage import AlreadyRunning, Store, only_instance, open_store

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> Store:
    """The store DATABASE_URL names, or one line without its password: Unreachable when a server did not answer
    (it may be starting), a ConfigError otherwise."""
    shown = hide_password(settings.database_url)
    try:
        return await open_store(settings.database_url, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
    except OSError as exc:  # refused, no such host, timed out: asyncpg raises the socket's own error
        if settings.database_url.startswith("sqlite:///"):
            raise ConfigError(f"setting DATABASE_URL: cannot open {shown}: {exc}") from None
        raise unreachable("the database", shown, "DATABASE_URL", exc) from None
    except Exception as exc:  # the file missing, read-only or corrupt; a role or database the server does not know
        raise ConfigError(f"setting DATABASE_URL: cannot open {shown}: {exc}") from None


async def migrate(store: Store, settings: Settings) -> list[str]:
    """Bring the schema up to date (the migrations applied now); a failure is one line, and closes the store."""
    try:
        return await store.migrate()
    except Exception as exc:
        await store.close()
        raise ConfigError(
            f"setting DATABASE_URL: cannot update {hide_password(settings.database_url)}: {exc}"
        ) from None


async def open_migrated_store(settings: Settings) -> Store:
    store = await open_database(settings)
    await migrate(store, settings)
    return store


def unreachable_marker(store: Store, clock: Clock) -> Callable[[OutboxRow, str], Awaitable[None]]:
    """A Telegram chat that refuses us for good (blocked, deleted) marks its customer unreachable; an e-mail address
    the server refuses for good gets no more mail."""

    async def mark(row: OutboxRow, error: str) -> None:
        if row.platform == "email":
            await stop_bounced(store, clock, row, error)
        if row.platform != "telegram":
            return
        async with store.transaction() as tx:
            if await tx.customer(int(row.chat_id)) is not None:
                await tx.update_customer(int(row.chat_id), unreachable_at=clock.now(), updated_at=clock.now())
                await tx.log_event("customer.unreachable", clock.now(), subject=row.chat_id, error=error[:200])

    return mark


def team_from(settings: Settings) -> Team | None:
    """The Slack team, when Slack is configured; the first missing or wrong piece is named."""
    if not settings.slack_enabled:
        return None
    problems = slack_problems(settings)
    if problems:
        raise ConfigError(problems[0])
    return Team(settings.slack_alert_channel, settings.managers, settings.slack_support_channel)


def startup_summary(engine: Engine, settings: Settings, program: Program) -> list[str]:
    """What `run` says once it is up: which bot, program and database, and how updates and the team reach it."""
    username = engine.part(TelegramChannel).app.bot.username
    updates = f"webhook at {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "polling for updates"
    return [
        f"running: {program.program.name}",
        f"Telegram: @{username} (https://t.me/{username}), {updates}",
        f"Slack: {_slack_summary(engine, settings)}",
        f"database: {hide_password(settings.database_url)}",
        *outside_summary(engine, settings),
    ]


def _slack_summary(engine: Engine, settings: Settings) -> str:
    if not settings.slack_enabled:
        return "off (SLACK_BOT_TOKEN is empty): referral alerts go nowhere"
    alerts = f"alerts to {settings.slack_alert_channel}"
    if settings.slack_app_token:
        return f"Socket Mode; {alerts}"
    return f"HTTP on port {engine.part(SlackChannel).port}, events at /slack/events; {alerts}"


def dispatch_policy(settings: Settings) -> DispatchPolicy:
    return DispatchPolicy(
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        concurrency=settings.outbox_concurrency,
        outage_backoff=settings.outbox_outage_backoff_seconds,
        # Telegram's overall limit is paced by the outbox, by lane; PTB's limiter at the same rate stays as a net.
        budgets=(("telegram", settings.telegram_rate_per_second),),
        rates=(
            ("telegram", ChatRate(settings.telegram_chat_rate_per_second, settings.telegram_chat_burst)),
            ("slack", ChatRate(settings.slack_channel_rate_per_second, 1)),
            ("webhook", ChatRate(settings.webhook_rate_per_second, 1)),
            ("email", ChatRate(1.0, 1)),  # per recipient; all mail together is paced by the sender
        ),
    )


@contextmanager
def _only_instance(database: Path) -> Iterator[None]:
    try:
        with only_instance(database):
            yield
    except AlreadyRunning as error:
        raise ConfigError(f"setting DATABASE_URL: {error}") from None


async def build_engine(
    settings: Settings, program: Program, clock: Clock | None = None, policy: DispatchPolicy | None = None
) -> Engine:
    """Everything `referral-bot run` runs: Telegram, Slack when configured, the outbox and the SLA timers."""
    if problems := run_problems(settings):  # `referral-bot check` lists them all
        raise ConfigError(problems[0])
    collect_cycles_less_often()
    clock = clock or SystemClock()
    team = team_from(settings)
    stack = AsyncExitStack()
    try:
        sole = settings.database_url.startswith("sqlite:///")
        if sole:
            await check_database_writable(Path(settings.sqlite_path))
            stack.enter_context(_only_instance(Path(settings.sqlite_path)))
        store = await open_migrated_store(settings)
        stack.push_async_callback(store.close)
        if sole and (taken := await store.take_over_leases(clock.now())):
            log.info("%d sends a stopped process left unfinished go out now", taken)
        health = Health(store)
        parts = await _assemble(settings, program, clock, policy, store, team, stack, health)
    except BaseException:
        await stack.aclose()
        raise
    engine = Engine(parts, stack)
    health.stopped_parts = engine.stopped_parts
    return engine


async def _assemble(
    settings: Settings,
    program: Program,
    clock: Clock,
    policy: DispatchPolicy | None,
    store: Store,
    team: Team | None,
    stack: AsyncExitStack,
    health: Health,
) -> list[Part]:
    app, telegram = await _telegram(settings, store, clock, stack)
    senders: dict[str, Sender] = {"telegram": TelegramSender(app.bot)}
    senders[f"telegram/{KIT_FILE}"] = KitFileSender(app.bot, store, clock.now)  # uploads a kit file once
    dispatcher = Dispatcher(store, senders, clock, policy or dispatch_policy(settings))
    dispatcher.on_dead = unreachable_marker(store, clock)
    dispatcher.metrics = metrics = Metrics(store)  # this engine's own registry
    alerts = Alerts(team) if team else None
    renderer = Renderer(settings.templates_dir)
    webhooks, outside = Webhooks(settings.webhook_targets), outside_of(settings)
    wake, locale = dispatcher.wake, settings.team_locale
    services = CustomerServices.build(
        store, program, renderer, app.bot.username, clock, wake, alerts, webhooks, outside, locale
    )
    window = NotificationWindow(timedelta(seconds=settings.notification_window_seconds), settings.notification_burst)
    services.units.notification_window = window
    if window.on:  # a chat's waiting notifications go merged (bot/core/notifications.py)
        senders["telegram"] = CoalescingSender(app.bot, services.screens)
    FloodGuard(services, settings.telegram_user_updates_per_minute).install(app)
    await telegram.install(Routes(services), services.screens.command_menu(), program.program.default_locale)
    units = services.units
    parts: list[Part] = [telegram, dispatcher, FollowUpSweep(units), FeedbackSweep(units), TriggerSweep(units)]
    parts.append(Pruner(store, clock, settings.retention_days, metrics.rows_pruned))
    if team is not None and alerts is not None:
        parts += await team_parts(settings, services, team, alerts, senders, stack, metrics)
    senders["webhook"] = await stack.enter_async_context(WebhookSender(settings.webhook_secret))
    server = _http_server(settings, services, alerts)
    server.add_routes(metrics_routes(metrics, health))
    parts.append(await stack.enter_async_context(server))
    return parts + await outside_parts(settings, program, store, clock, services, renderer, senders, stack)


async def _telegram(
    settings: Settings, store: Store, clock: Clock, stack: AsyncExitStack
) -> tuple[Application, TelegramChannel]:  # type: ignore[type-arg]
    """The customer side: python-telegram-bot's Application, and the channel that receives its updates."""
    app = build_application(
        settings.telegram_bot_token,
        settings.telegram_api_url,
        settings.telegram_file_base_url,
        settings.telegram_rate_per_second,
        settings.telegram_group_rate_per_minute,
    )
    channel = TelegramChannel(
        app, store, clock.now, settings.telegram_poll_timeout, Webhook.of(settings), store.updates_at_once
    )
    return app, await stack.enter_async_context(channel)


def _http_server(settings: Settings, services: CustomerServices, alerts: Alerts | None) -> HttpServer:
    """The engine's own endpoints; every route is added here, as the server takes none once started."""
    server = HttpServer(settings.http_host, settings.http_port, Limits.of(settings))
    team = TeamService(services.units, alerts) if alerts is not None else None
    server.add_routes(CrmApi(CrmService(services.units, team), settings.crm_api_token).routes())
    return server
