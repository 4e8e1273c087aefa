"""`referral-bot demo`: the whole story against the local Telegram and Slack emulators, told as a transcript."""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from bot.app.demo_story import tell_story
from bot.app.demo_transcript import ALERTS, MAYA, TEAM, console, money
from bot.app.examples import PROGRAM_EXAMPLE
from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.program.rules import load_program
from bot.program.settings import Settings
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import SQLiteStore

TOKEN = "123456:DEMO-TOKEN"
MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, inside business hours
PROGRAM = PROGRAM_EXAMPLE
README_DEPLOY = "https://github.com/referral-bot/referral-bot#deploying-it-on-a-server"


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


async def run_demo() -> int:
    logging.basicConfig(level=logging.ERROR)
    program = load_program(PROGRAM)
    clock = FakeClock(MONDAY_MORNING)  # the team is at work, and the demo can let minutes pass
    introduce(program.program.name)
    with tempfile.TemporaryDirectory(prefix="referral-bot-demo-") as workdir:
        database = Path(workdir) / "demo.db"
        async with (
            TelegramEmulator(token=TOKEN, bot_username="AcmeReferralBot", bot_name="Acme Referrals") as tg,
            SlackEmulator(bot_token="xoxb-demo", signing_secret="demo-secret") as slack,
        ):
            for user_id, name, real_name in TEAM:
                slack.add_user(user_id, name, real_name=real_name)
            slack.add_channel(ALERTS, "referrals", members={user for user, _, _ in TEAM})
            settings = emulator_settings(
                tg,
                database,
                slack_bot_token="xoxb-demo",
                slack_api_url=slack.api_url,
                slack_signing_secret="demo-secret",
                slack_http_host="127.0.0.1",
                slack_http_port=0,
                slack_alert_channel=ALERTS,
                slack_manager_ids=MAYA,
                slack_channel_rate_per_second=20,  # Slack allows 1 a second; the emulator needs no pause
            )
            async with await build_engine(settings, program, clock) as engine:
                slack.bot_endpoint = f"http://127.0.0.1:{engine.part(SlackChannel).port}/slack/events"
                await tell_story(tg, slack, clock)
            await summarise(database)
    conclude()
    return 0


def introduce(name: str) -> None:
    console.rule(Text(f"{name}: a referral, end to end", "bold"))
    console.print(
        f"The bot runs the example program ({name}, a coffee supplier) for real, against emulators of Telegram and"
        " Slack on this computer. It needs no token and no network, keeps its database in a temporary folder, and"
        " saves nothing. A pretend clock lets minutes pass in a moment.",
        style="dim",
    )


async def summarise(database: Path) -> None:
    store = await SQLiteStore.open(str(database))
    try:
        referrals = await store.referral_summaries()
        rewards = await store.reward_summaries()
        outbox = await store.outbox_counts()
    finally:
        await store.close()
    table = Table(title="What the demo's database held", title_justify="left", title_style="bold")
    for column in ("referrer", "friend", "source", "status", "deal value", "contact (with consent)"):
        table.add_column(column, justify="right" if column == "deal value" else "left")
    for row in referrals:
        value = money(row.deal_value) if row.deal_value is not None else ""
        table.add_row(row.referrer, row.friend, row.source, row.status, value, row.friend_contact or "")
    console.print()
    console.print(table)
    for reward in rewards:
        console.print(f"Reward for {reward.name}: {reward.description} ({reward.status})")
    sent = ", ".join(f"{r.n} {r.status} to {r.platform.capitalize()}" for r in outbox)
    console.print(f"Messages through the outbox: {sent}")


def conclude() -> None:
    console.print()
    console.rule(Text("That was the demo", "bold"))
    console.print(
        "Nothing was saved: the database lived in a temporary folder that is now deleted, and every message went to"
        " the emulators on this computer, never to Telegram or Slack."
    )
    console.print(Text("\nWhat to do next, in a folder of your own:", "bold"))
    width = max(len(command) for command, _ in NEXT_STEPS)
    for number, (command, then) in enumerate(NEXT_STEPS, 1):
        console.print(Text.assemble(f"  {number}. ", (command.ljust(width + 2) if command else "", "bold"), then))
    console.print("To add Slack and run it on a server, see “Deploying it on a server” in the README:")
    console.print(f"  {README_DEPLOY}")


NEXT_STEPS = (
    ("referral-bot init", "writes a starting .env and program.toml in this folder"),
    ("", "get a bot token from @BotFather in Telegram, put it in .env, and make program.toml yours"),
    ("referral-bot check", "checks the settings and the program without starting anything"),
    ("referral-bot run", "runs your referral program until you press Ctrl-C"),
)
