"""The parts that reach people outside Telegram, joined to the engine: the SMTP sender of the outbox's e-mail rows,
and the landing page's server (PUBLIC_URL/r/<code>). Each is there only when its settings are."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.core.clock import Clock
from bot.core.engine import Engine, Part
from bot.core.errors import ConfigError
from bot.core.models import OutboxRow
from bot.customers.services import CustomerServices, Outside
from bot.delivery.outbox import Sender
from bot.program.rules import Program
from bot.program.settings import Settings
from handlers.email import EmailSender, SmtpConfig
from handlers.email.failures import RECIPIENT_REFUSED
from handlers.http.landing import LandingLimits, LandingSite
from handlers.http.landing_server import LandingServer
from handlers.http.listen import Limits
from messages import Renderer
from storage import Store


def outside_of(settings: Settings) -> Outside:
    return Outside(settings.public_url, settings.email_enabled, settings.advocate_link_days)


def smtp_config(settings: Settings) -> SmtpConfig:
    try:
        return SmtpConfig.parse(settings.smtp_url, settings.smtp_from, settings.smtp_reply_to)
    except ValueError as exc:  # it names the setting, and never repeats the URL (it holds a password)
        raise ConfigError(f"setting {exc}") from None


async def outside_parts(
    settings: Settings,
    program: Program,
    store: Store,
    clock: Clock,
    services: CustomerServices,
    renderer: Renderer,
    senders: dict[str, Sender],
    stack: AsyncExitStack,
) -> list[Part]:
    """The outbox's e-mail sender when SMTP_URL is set, and the landing page's server when PUBLIC_URL is."""
    if settings.email_enabled:
        senders["email"] = await email_sender(settings, store, clock, stack)
    if not settings.public_url:
        return []
    landing = await landing_server(settings, program, store, clock, services, renderer)
    return [await stack.enter_async_context(landing)]


async def email_sender(settings: Settings, store: Store, clock: Clock, stack: AsyncExitStack) -> EmailSender:
    sender = EmailSender(smtp_config(settings), store, clock.now, settings.email_rate_per_second)
    return await stack.enter_async_context(sender)


async def landing_server(
    settings: Settings, program: Program, store: Store, clock: Clock, services: CustomerServices, renderer: Renderer
) -> LandingServer:
    """The landing page's own server; its signing key comes from the database, so every instance signs alike."""
    site = LandingSite(
        services.landing,
        services.email_preferences,
        renderer,
        secret=bytes.fromhex(await store.site_key("landing", clock.now())),
        trusted_proxies=settings.trusted_proxies,
        limits=LandingLimits(settings.landing_forms_per_hour, settings.landing_forms_per_code_per_hour),
        public_url=settings.public_url,  # https: a Secure __Host- cookie, and HSTS
        default_locale=program.program.default_locale,
    )
    return LandingServer(site, settings.landing_host, settings.landing_port, Limits.of(settings))


def outside_summary(engine: Engine, settings: Settings) -> list[str]:
    """What `run` says about the landing page and e-mail, when they are set up."""
    lines = []
    if settings.public_url:
        port = engine.part(LandingServer).port
        lines.append(f"landing page: {settings.public_url}/r/<code>, served on {settings.landing_host}:{port}")
    if settings.email_enabled:
        lines.append(f"e-mail: through {smtp_config(settings).where}, from {settings.smtp_from}")
    return lines


async def stop_bounced(store: Store, clock: Clock, row: OutboxRow, error: str) -> None:
    """An address the server refused for good (550: no such mailbox) is treated as unsubscribed: writing to it
    again would only bounce, and bounces hurt the sender's standing with mail providers."""
    if RECIPIENT_REFUSED not in error:
        return
    async with store.transaction() as tx:
        token, _ = await tx.email_token(row.chat_id, clock.now())
        await tx.unsubscribe_email(token, clock.now())
        await tx.log_event("email.bounced", clock.now(), error=error[:200])
