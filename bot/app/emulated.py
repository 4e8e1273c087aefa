"""The bot as `referral-bot demo` and `referral-bot playground` run it: the real engine on a throwaway SQLite file,
against the Telegram and Slack emulators on 127.0.0.1, with a pretend clock and the demo's sales team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app.demo_transcript import ALERTS, MAYA, TEAM
from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from bot.program.settings import Settings
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

TOKEN = "123456:DEMO-TOKEN"
MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, inside business hours
BOT_USERNAME, BOT_NAME = "AcmeReferralBot", "Acme Referrals"
SLACK_TOKEN, SLACK_SECRET = "xoxb-demo", "demo-secret"


def emulator_settings(telegram: TelegramEmulator, database: Path | str, **overrides: Any) -> Settings:
    """Settings that point the bot at a local emulator, ignoring any `.env` of a real deployment. The database is
    a SQLite file, or a DATABASE_URL."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_url=telegram.base_url,
        telegram_file_url=telegram.base_file_url,
        telegram_poll_timeout=1,
        database_url=database if isinstance(database, str) else f"sqlite:///{database}",
        **{"http_port": 0, **overrides},  # a free port, so emulated bots never collide
    )


@dataclass(frozen=True)
class Emulated:
    telegram: TelegramEmulator
    slack: SlackEmulator
    engine: Engine
    clock: FakeClock


@asynccontextmanager
async def emulated_bot(program: Program, clock: FakeClock, database: Path) -> AsyncIterator[Emulated]:
    """Both emulators with the demo's team in #referrals, and the engine running against them until the block ends."""
    async with (
        TelegramEmulator(token=TOKEN, bot_username=BOT_USERNAME, bot_name=BOT_NAME) as tg,
        SlackEmulator(bot_token=SLACK_TOKEN, signing_secret=SLACK_SECRET) as slack,
    ):
        for user_id, name, real_name in TEAM:
            slack.add_user(user_id, name, real_name=real_name)
        slack.add_channel(ALERTS, "referrals", members={user for user, _, _ in TEAM})
        settings = emulator_settings(
            tg,
            database,
            slack_bot_token=SLACK_TOKEN,
            slack_api_url=slack.api_url,
            slack_signing_secret=SLACK_SECRET,
            slack_http_host="127.0.0.1",
            slack_http_port=0,
            slack_alert_channel=ALERTS,
            slack_manager_ids=MAYA,
            slack_channel_rate_per_second=20,  # Slack allows 1 a second; the emulator needs no pause
        )
        async with await build_engine(settings, program, clock) as engine:
            slack.bot_endpoint = f"http://127.0.0.1:{engine.part(SlackChannel).port}/slack/events"
            yield Emulated(tg, slack, engine, clock)
