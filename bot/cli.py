"""The `referral-bot` command line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.program import Program, load_program

app = typer.Typer(help="Run a customer referral program in Telegram and Slack.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)
ProgramOption = Annotated[Path | None, typer.Option("--program", help="Program file (default: PROGRAM_FILE)")]


def _setup(program_file: Path | None = None) -> tuple[Settings, Program]:
    settings = load_settings()
    program = load_program(program_file or settings.program_file)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return settings, program


@app.command()
def run(program: ProgramOption = None) -> None:
    """Run the bot until SIGINT or SIGTERM."""
    from bot.wiring import build_engine

    settings, rules = _setup(program)

    async def main() -> None:
        async with await build_engine(settings, rules) as engine:
            logging.getLogger("bot").info("running: %s", rules.program.name)
            await engine.serve()

    asyncio.run(main())


@app.command()
def migrate() -> None:
    """Create or update the database schema."""
    from storage import open_store

    settings = load_settings()

    async def main() -> list[str]:
        store = await open_store(settings.database_url, settings.sqlite_synchronous)
        try:
            return await store.migrate()
        finally:
            await store.close()

    applied = asyncio.run(main())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@app.command()
def demo() -> None:
    """Tell the whole story against the local emulators: no token, no network."""
    from bot.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo()))


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        err.print(f"[bold red]referral-bot:[/] {exc}", highlight=False)
        raise SystemExit(2) from None
