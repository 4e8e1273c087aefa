"""`referral-bot demo`: the whole story against the local Telegram and Slack emulators, told as a transcript."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from rich.table import Table
from rich.text import Text

from bot.app.demo_story import tell_story
from bot.app.demo_transcript import console, money
from bot.app.emulated import MONDAY_MORNING, emulated_bot
from bot.app.emulated import TOKEN as TOKEN  # re-exported: the tests and the benchmarks import it from here
from bot.app.emulated import emulator_settings as emulator_settings  # re-exported, as TOKEN
from bot.app.examples import PROGRAM_EXAMPLE
from bot.core.clock import FakeClock
from bot.program.rules import load_program
from storage import SQLiteStore

PROGRAM = PROGRAM_EXAMPLE
README_DEPLOY = "https://github.com/referral-bot/referral-bot#deploying-it-on-a-server"


async def run_demo() -> int:
    logging.basicConfig(level=logging.ERROR)
    program = load_program(PROGRAM)
    clock = FakeClock(MONDAY_MORNING)  # the team is at work, and the demo can let minutes pass
    introduce(program.program.name)
    with tempfile.TemporaryDirectory(prefix="referral-bot-demo-") as workdir:
        database = Path(workdir) / "demo.db"
        async with emulated_bot(program, clock, database) as world:
            await tell_story(world.telegram, world.slack, clock)
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
