"""The Telegram side of the engine: a PTB Application fed by a poller that confirms an update to
Telegram only after its effect is committed.

PTB's own Updater moves the getUpdates offset as soon as updates are fetched, before handlers
run, so a crash in between would lose them. Our poller moves the offset only past updates that are
settled: handled, or parked in the database to be retried (handlers/telegram/intake.py). One that
could not even be parked is fetched again, and the inbound-id check makes the second run safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.core.errors import ConfigError, Unreachable, unreachable
from handlers.http.listen import DEFAULT_LIMITS, Limits
from handlers.telegram.aiohttp_request import AiohttpRequest
from handlers.telegram.batches import process_batch
from handlers.telegram.intake import Intake, ParkingStore, backoff
from handlers.telegram.routes import Routes
from handlers.telegram.sender import retry_seconds
from handlers.telegram.webhook import WebhookServer

if TYPE_CHECKING:
    from bot.program.settings import Settings

log = logging.getLogger(__name__)
POLL_BACKOFF_CAP_SECONDS = 8.0  # how late polling may notice that Telegram is back


def build_application(
    token: str, api_url: str, file_url: str, per_second: float = 30.0, group_per_minute: float = 20.0
) -> Application:  # type: ignore[type-arg]
    # PTB's limiter keeps the per-group limit and backs the bot-wide one, which the outbox paces by priority lane
    # just under it (bot/delivery/lanes.py), so this first-come-first-served queue never fills and never reorders
    # the lanes. 429s are left to the outbox (max_retries=0),
    # which reschedules durably instead of sleeping inside a send. The overall limit is kept with bursts of a
    # sixth of a second's worth, not a whole second's: a full burst then steady sending at the limit leaves
    # Telegram's own bucket empty, and any jitter in arrival times is answered with 429.
    burst = max(1.0, per_second / 6)
    limiter = AIORateLimiter(
        overall_max_rate=burst,
        overall_time_period=burst / per_second,
        group_max_rate=group_per_minute,
        group_time_period=60,
        max_retries=0,
    )
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .base_file_url(file_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .updater(None)
        .rate_limiter(limiter)
        .build()
    )


def telegram_unreachable(bot: Bot, error: NetworkError) -> Unreachable:
    """The Bot API could not be reached: said with its base URL, as the full one carries the token after /bot."""
    base = bot.base_url.replace(bot.token, "")
    return unreachable("the Telegram Bot API", base, "TELEGRAM_API_URL", error, secret=bot.token)


async def close_transports(bot: Bot) -> None:
    """After a failed start: a bot whose initialize() failed counts as never started, so Bot.shutdown() would leave
    its open HTTP sessions (one for getUpdates, one for the rest) unclosed."""
    await asyncio.gather(*(request.shutdown() for request in bot._request))


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    host: str = "0.0.0.0"
    port: int = 8443
    limits: Limits = DEFAULT_LIMITS

    @classmethod
    def of(cls, settings: Settings) -> Webhook | None:
        """The webhook the settings ask for; None to poll."""
        if not settings.telegram_webhook_url:
            return None
        return cls(
            settings.telegram_webhook_url,
            settings.telegram_webhook_secret,
            settings.telegram_webhook_host,
            settings.telegram_webhook_port,
            Limits.of(settings),
        )


class TelegramChannel:
    """Async context manager: initialises the bot on entry; `run()` polls until cancelled."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        store: ParkingStore,
        now: Callable[[], datetime],
        poll_timeout: int = 30,
        webhook: Webhook | None = None,
        at_once: int = 1,
    ) -> None:
        self.app = app
        self._at_once = at_once  # senders whose updates run side by side (handlers/telegram/batches.py)
        self._timeout = poll_timeout
        self._failed: set[int] = set()
        self.intake = Intake(app, store, self._failed, now)
        self._settled: set[int] = set()  # fetched again after a failure: not handled twice (inline queries!)
        self._unsettled = 0  # updates in a row that could not be parked: the database is away
        self._fetch_failures = 0  # getUpdates calls in a row that failed: Telegram is away
        app.add_error_handler(self._record_failure)
        self.webhook = (
            WebhookServer(app, self.intake, webhook.url, webhook.secret, webhook.host, webhook.port, webhook.limits)
            if webhook
            else None
        )

    async def install(self, routes: Routes, menus: Mapping[str, Sequence[tuple[str, str]]], default: str) -> None:
        """Route updates to the domain and publish the command menu in every language we speak."""
        routes.install(self.app)
        for locale, commands in menus.items():
            language = None if locale == default else locale  # no language code: everyone else's menu
            await self.app.bot.set_my_commands([BotCommand(*command) for command in commands], language_code=language)

    async def __aenter__(self) -> TelegramChannel:
        try:
            await self.app.initialize()
            if self.webhook is None:
                await self.app.bot.delete_webhook()  # polling and a webhook exclude each other
            await self.intake.load()
        except InvalidToken:
            await self._close_transports()
            raise ConfigError("setting TELEGRAM_BOT_TOKEN: Telegram refused the token") from None
        except NetworkError as error:  # no route, no DNS, refused, timed out: not a setting we could name for sure
            await self._close_transports()
            raise telegram_unreachable(self.app.bot, error) from None
        return self

    async def _close_transports(self) -> None:
        await close_transports(self.app.bot)

    async def __aexit__(self, *exc_info: object) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
        await self.app.shutdown()

    async def _record_failure(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            log.error("update %s failed", update.update_id, exc_info=context.error)
            self._failed.add(update.update_id)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.intake.retry_forever())
            if self.webhook is not None:
                await self.webhook.start()  # only now: the routes are installed, so no update is answered unhandled
                return
            offset = 0
            while True:
                done = await self.process_batch(await self._fetch(offset))
                if done is not None:
                    offset = done + 1
                    self._settled = {update_id for update_id in self._settled if update_id >= offset}

    async def process_batch(self, updates: Sequence[Update]) -> int | None:
        """Process one getUpdates batch; the last update id up to which all is settled (None: not the first)."""
        return await process_batch(updates, self._process, self._at_once)

    async def _fetch(self, offset: int) -> tuple[Update, ...]:
        try:
            updates: tuple[Update, ...] = await self.app.bot.get_updates(
                offset=offset or None,
                timeout=self._timeout,
                read_timeout=self._timeout + 10,
                allowed_updates=Update.ALL_TYPES,
            )
        except RetryAfter as error:
            await asyncio.sleep(retry_seconds(error))
            return ()
        except (TimedOut, NetworkError) as error:
            # One warning per outage, then quiet retries further and further apart: Telegram may be away for minutes.
            self._fetch_failures += 1
            wait = min(2.0 ** (self._fetch_failures - 1), POLL_BACKOFF_CAP_SECONDS)
            log.log(logging.WARNING if self._fetch_failures == 1 else logging.DEBUG, "getUpdates failed: %s", error)
            await asyncio.sleep(wait)
            return ()
        if self._fetch_failures:
            log.info("getUpdates works again after %d failed tries", self._fetch_failures)
            self._fetch_failures = 0
        return updates

    async def _process(self, update: Update) -> bool:
        """True when the update is settled: handled, parked or dropped."""
        if update.update_id in self._settled:
            return True
        if await self.intake.take(update):
            self._settled.add(update.update_id)
            self._unsettled = 0
            return True
        # Not even parked: the database is away, and whatever comes next would fail the same way.
        self._unsettled += 1
        await asyncio.sleep(backoff(self._unsettled))  # the parked updates' own waits
        return False
