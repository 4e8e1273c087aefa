"""The demo's transcript: who takes part, and how what each person says, presses and receives is printed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.app.demo_render import NEUTRAL, SLACK_BUTTON, chat_panel, slack_form_parts, slack_parts, telegram_parts
from bot.app.examples import PROGRAM_EXAMPLE
from bot.program.rules import load_program
from sandbox.slack_models import SlackMessage
from sandbox.telegram_people import SentMessage

ALERTS, RITA, MAYA = "C0REFERRALS", "U0RITA", "U0MAYA"
TEAM = ((RITA, "rita", "Rita Rep"), (MAYA, "maya", "Maya Manager"))
NAMES = {user: name for user, name, _ in TEAM}  # Slack shows a mention as the person's name
FORM_WIDTH = 64  # a Slack modal is narrower than the channel behind it
CURRENCY = load_program(PROGRAM_EXAMPLE).program.currency  # Acme sells in euros
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
