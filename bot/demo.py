"""`referral-bot demo`: the whole story against the local Telegram and Slack emulators, told as a transcript."""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.clock import FakeClock
from bot.config import Settings
from bot.examples import PROGRAM_EXAMPLE
from bot.program import load_program
from bot.wiring import build_engine
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage
from storage import SQLiteStore

TOKEN = "123456:DEMO-TOKEN"
ALERTS, RITA, MAYA = "C0REFERRALS", "U0RITA", "U0MAYA"
TEAM = ((RITA, "rita", "Rita Rep"), (MAYA, "maya", "Maya Manager"))
MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, inside business hours
PROGRAM = PROGRAM_EXAMPLE
console = Console()


def narrate(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/]")


def person_says(name: str, text: str) -> None:
    console.print(f"  [bold magenta]{name}[/] ▸ {text}")


def bot_says(to: str, message: SentMessage) -> None:
    body = message.text or message.caption or ""
    buttons = [button["text"] for button in message.buttons()]
    if message.reply_markup and "keyboard" in message.reply_markup:
        buttons += [button["text"] for row in message.reply_markup["keyboard"] for button in row]
    if buttons:
        body += "\n\n" + "  ".join(f"[reverse] {text} [/]" for text in buttons)
    if message.photo:
        body = f"[dim](a {len(message.photo):,}-byte QR code image)[/]\n" + body
    console.print(Panel(body, title=f"Telegram · bot → {to}", title_align="left", border_style="green", width=92))


def readable(text: str) -> str:
    """Slack markup as a person sees it: mentions as names, entities decoded."""
    names = {user: name for user, name, _ in TEAM}
    text = re.sub(r"<@(\w+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = text.replace("<!channel>", "@channel").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return escape(text)


def slack_says(where: str, message: SlackMessage) -> None:
    texts = [message.text] if not message.blocks else []
    for block in message.blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts.append("[dim]" + escape(block["elements"][0]["text"]) + "[/]")
    body = "\n".join(readable(text) if not text.startswith("[dim]") else text for text in texts)
    if message.buttons():
        body += "\n\n" + "  ".join(f"[reverse] {button['text']} [/]" for button in message.buttons())
    console.print(Panel(body, title=f"Slack · {where}", title_align="left", border_style="blue", width=92))


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
    from bot.demo_story import tell_story  # the acts use the helpers above

    logging.basicConfig(level=logging.ERROR)
    program = load_program(PROGRAM)
    clock = FakeClock(MONDAY_MORNING)  # the team is at work, and the demo can let minutes pass
    with tempfile.TemporaryDirectory() as workdir:
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
            )
            console.rule(f"[bold]{program.program.name}: a referral, end to end")
            async with await build_engine(settings, program, clock) as engine:
                slack.bot_endpoint = f"http://127.0.0.1:{engine.part(SlackChannel).port}/slack/events"
                await tell_story(tg, slack, clock)
            await summarise(database)
    return 0


async def summarise(database: Path) -> None:
    store = await SQLiteStore.open(str(database))
    try:
        referrals = await store.fetch_all(
            "SELECT r.source, r.status, r.deal_value, a.first_name AS referrer, f.first_name AS friend,"
            " r.friend_contact FROM referrals r JOIN customers a ON a.telegram_id = r.referrer_id"
            " JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        )
        rewards = await store.fetch_all("SELECT role, status FROM rewards ORDER BY role")
        outbox = await store.fetch_all("SELECT platform, status, COUNT(*) AS n FROM outbox GROUP BY platform, status")
    finally:
        await store.close()
    table = Table(title="What the team's database now holds", title_justify="left")
    for column in ("referrer", "friend", "source", "status", "deal value", "contact (with consent)"):
        table.add_column(column)
    for row in referrals:
        table.add_row(
            row["referrer"],
            row["friend"],
            row["source"],
            row["status"],
            row["deal_value"] or "",
            row["friend_contact"] or "",
        )
    console.print()
    console.print(table)
    console.print("rewards: " + ", ".join(f"{r['role']} {r['status']}" for r in rewards))
    console.print("messages: " + ", ".join(f"{r['platform']} {r['status']} {r['n']}" for r in outbox))
