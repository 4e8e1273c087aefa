"""`referral-bot demo`: the whole story against the local Telegram emulator, told as a transcript."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bot.config import Settings
from bot.program import load_program
from bot.wiring import build_engine
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser, SentMessage
from storage import SQLiteStore

TOKEN = "123456:DEMO-TOKEN"
PROGRAM = Path(__file__).resolve().parent.parent / "program.example.toml"
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


def emulator_settings(telegram: TelegramEmulator, database: Path, **overrides: Any) -> Settings:
    """Settings that point the bot at a local emulator, ignoring any `.env` of a real deployment."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_url=telegram.base_url,
        telegram_file_url=telegram.base_file_url,
        telegram_poll_timeout=1,
        database_url=f"sqlite:///{database}",
        **overrides,
    )


async def run_demo() -> int:
    logging.basicConfig(level=logging.WARNING)
    program = load_program(PROGRAM)
    with tempfile.TemporaryDirectory() as workdir:
        database = Path(workdir) / "demo.db"
        async with TelegramEmulator(token=TOKEN, bot_username="AcmeReferralBot", bot_name="Acme Referrals") as tg:
            settings = emulator_settings(tg, database)
            console.rule(f"[bold]{program.program.name}: a referral, end to end")
            async with await build_engine(settings, program):
                await tell_story(tg)
            await summarise(database)
    return 0


async def tell_story(tg: TelegramEmulator) -> None:
    ana, ben = tg.user(1001, "Ana", language_code="en"), tg.user(2002, "Ben", language_code="en")
    narrate("Ana, a happy customer, opens the bot.")
    person_says("Ana", "/start")
    await tg.send_command(ana, "start")
    (welcome,) = await tg.wait_for_messages(ana.id, 1)
    bot_says("Ana", welcome)

    narrate("Ana taps “Share in a chat”, picks her chat with Ben, and sends her invite card.")
    _, query_id = await tg.inline_query(ana, "")
    (card,) = await tg.wait_for_inline_answer(query_id)
    await tg.choose_inline_result(ana, card["id"])
    url = card["reply_markup"]["inline_keyboard"][0][0]["url"]
    console.print(
        Panel(
            re.sub(r"<[^>]+>", "", card["input_message_content"]["message_text"])
            + f"\n\n[reverse] {card['reply_markup']['inline_keyboard'][0][0]['text']} [/] → {url}",
            title="Telegram · Ana → Ben (invite card)",
            title_align="left",
            border_style="yellow",
            width=92,
        )
    )

    await friend_arrives(tg, ana, ben, url, welcome)


async def friend_arrives(tg: TelegramEmulator, ana: FakeUser, ben: FakeUser, url: str, welcome: SentMessage) -> None:
    narrate("Ben taps the button on the card, which opens the bot through Ana's link.")
    payload = tg.deep_link_payload(url)
    assert payload is not None
    person_says("Ben", f"/start {payload}")
    await tg.open_deep_link(ben, payload)
    (ben_welcome,) = await tg.wait_for_messages(ben.id, 1)
    bot_says("Ben", ben_welcome)

    narrate("Ana is thanked the moment Ben arrives.")
    bot_says("Ana", (await tg.wait_for_messages(ana.id, 2))[1])

    narrate("Ben shares his phone number so the team can set up his gift.")
    person_says("Ben", "📞 (shares his contact)")
    await tg.share_contact(ben, phone_number="+15550102030")
    bot_says("Ben", (await tg.wait_for_messages(ben.id, 2))[1])

    narrate("Ana checks her referrals.")
    person_says("Ana", "📊 My referrals")
    await tg.press_button(ana, welcome, "mine")
    bot_says("Ana", (await tg.wait_for_messages(ana.id, 3))[2])


async def summarise(database: Path) -> None:
    store = await SQLiteStore.open(str(database))
    try:
        referrals = await store.fetch_all(
            "SELECT r.source, r.status, a.first_name AS referrer, f.first_name AS friend, r.friend_contact"
            " FROM referrals r JOIN customers a ON a.telegram_id = r.referrer_id"
            " JOIN customers f ON f.telegram_id = r.friend_telegram_id"
        )
        shares = await store.fetch_all("SELECT channel, COUNT(*) AS n FROM share_events GROUP BY channel")
        outbox = await store.fetch_all("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    finally:
        await store.close()
    table = Table(title="What the team's database now holds", title_justify="left")
    for column in ("referrer", "friend", "source", "status", "contact (with consent)"):
        table.add_column(column)
    for row in referrals:
        table.add_row(row["referrer"], row["friend"], row["source"], row["status"], row["friend_contact"] or "")
    console.print()
    console.print(table)
    console.print(
        "shares: "
        + ", ".join(f"{row['channel']} {row['n']}" for row in shares)
        + " · messages: "
        + ", ".join(f"{row['status']} {row['n']}" for row in outbox)
    )
