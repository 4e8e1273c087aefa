"""What every `referral-bot` command shares: the Typer app, the error console, the --program option, set-up and
a progress bar. The commands register themselves on `app` in cli.py and operator_cli.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from bot.app.logs import configure as configure_logs
from bot.app.logs import secrets_of
from bot.program.rules import Program, load_program
from bot.program.settings import Settings, load_settings

app = typer.Typer(help="Run a customer referral program in Telegram and Slack.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)
ProgramOption = Annotated[Path | None, typer.Option("--program", help="Program file (default: PROGRAM_FILE)")]


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"referral-bot {version('referral-bot')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Run a customer referral program in Telegram and Slack."""


def setup(program_file: Path | None = None) -> tuple[Settings, Program]:
    settings = load_settings()
    program = load_program(program_file or settings.program_file)
    configure_logs(settings.log_level, settings.log_format, secrets_of(settings))
    return settings, program


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, so the report on stdout stays clean for scripts."""
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
