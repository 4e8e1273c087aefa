"""`referral-bot demo`: the whole story against the local Telegram and Slack emulators, told as a transcript."""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.app.demo_render import NEUTRAL, SLACK_BUTTON, chat_panel, slack_form_parts, slack_parts, telegram_parts
from bot.app.examples import PROGRAM_EXAMPLE
from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.program.rules import load_program
from bot.program.settings import Settings
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage
from storage import SQLiteStore

TOKEN = "123456:DEMO-TOKEN"
ALERTS, RITA, MAYA = "C0REFERRALS", "U0RITA", "U0MAYA"
TEAM = ((RITA, "rita", "Rita Rep"), (MAYA, "maya", "Maya Manager"))
NAMES = {user: name for user, name, _ in TEAM}  # Slack shows a mention as the person's name
MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, inside business hours
FORM_WIDTH = 64  # a Slack modal is narrower than the channel behind it
PROGRAM = PROGRAM_EXAMPLE
CURRENCY = load_program(PROGRAM).program.currency  # Acme sells in euros
README_DEPLOY = "https://github.com/referral-bot/referral-bot#deploying-it-on-a-server"
console = Console(highlight=False)  # colour only what a person would see coloured


def narrate(text: str) -> None:
    console.print()
    console.print(_hanging(Text("▶", "bold cyan"), Text(text, "bold cyan")))


def person_says(name: str, text: str) -> None:
    console.print(_hanging(Text.assemble("  ", (name, "bold magenta"), " ▸"), Text(text)))


def person_presses(name: str, button: tuple[str, str], then: str = "") -> None:
    console.print(_hanging(Text.assemble("  ", (name, "bold magenta"), " ▸ presses"), Text(then), button))


def _hanging(prefix: Text, text: Text, button: tuple[str, str] | None = None) -> Table:
    """A line whose continuation lines start under its text, not under its prefix; a button is never wrapped."""
    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    cells: list[Text] = [prefix]
    if button is not None:
        line.add_column(no_wrap=True)
        cells.append(Text(f" {button[0]} ", button[1]))
    line.add_column()
    line.add_row(*cells, text)
    return line


def bot_says(to: str, message: SentMessage) -> None:
    parts = telegram_parts(message.text or message.caption or "", message.entities, message.reply_markup)
    if message.photo:
        parts.insert(0, Text(f"(a {len(message.photo):,}-byte QR code image)", "dim"))
    console.print(chat_panel(parts, f"Telegram · bot → {to}", "green"))


def slack_says(where: str, message: SlackMessage) -> None:
    console.print(chat_panel(slack_parts(message.text, message.blocks, NAMES), f"Slack · {where}", "blue"))


def slack_form(person: str, view: dict[str, Any], *answers: str) -> None:
    form = slack_form_parts(view, answers)
    console.print(chat_panel(form, f"Slack · a form, seen only by {person}", "blue", width=FORM_WIDTH))


def slack_button(message: SlackMessage, action_id: str) -> tuple[str, str]:
    """A button's label and colour as the person sees it on the message."""
    button = next(button for button in message.buttons() if button["action_id"] == action_id)
    return str(button["text"]), SLACK_BUTTON.get(str(button.get("style")), NEUTRAL)


def money(value: Decimal | str) -> str:
    return f"{Decimal(value):,.2f} {CURRENCY}"


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
    from bot.app.demo_story import tell_story  # the acts use the helpers above

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
        referrals = await store.fetch_all(
            "SELECT r.source, r.status, r.deal_value, a.first_name AS referrer, f.first_name AS friend,"
            " r.friend_contact FROM referrals r JOIN customers a ON a.telegram_id = r.referrer_id"
            " JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        )
        rewards = await store.fetch_all(
            "SELECT c.first_name AS name, w.description, w.status FROM rewards w"
            " JOIN customers c ON c.telegram_id = w.customer_id ORDER BY w.role DESC"
        )
        outbox = await store.fetch_all("SELECT platform, status, COUNT(*) AS n FROM outbox GROUP BY platform, status")
    finally:
        await store.close()
    table = Table(title="What the demo's database held", title_justify="left", title_style="bold")
    for column in ("referrer", "friend", "source", "status", "deal value", "contact (with consent)"):
        table.add_column(column, justify="right" if column == "deal value" else "left")
    for row in referrals:
        value = money(row["deal_value"]) if row["deal_value"] is not None else ""
        table.add_row(row["referrer"], row["friend"], row["source"], row["status"], value, row["friend_contact"] or "")
    console.print()
    console.print(table)
    for reward in rewards:
        console.print(f"Reward for {reward['name']}: {reward['description']} ({reward['status']})")
    sent = ", ".join(f"{r['n']} {r['status']} to {r['platform'].capitalize()}" for r in outbox)
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
