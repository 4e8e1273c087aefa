"""Operator commands of `referral-bot`: stats, recount, prune, export, backup, check and forget. Reports go to
stdout, progress bars and problems to stderr, so scripts can read the one and people watch the other."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from bot.app.cli_base import ProgramOption, app, err, progress, setup
from bot.app.stats_text import stats_text
from bot.core.clock import SystemClock
from bot.core.errors import ConfigError
from bot.program.rules import load_program
from bot.program.settings import Settings, load_settings, run_problems
from bot.reports.stats import Period, parse_period
from storage import backup_copy, integrity

PeriodArgument = Annotated[str, typer.Argument(help="7d, 30d, 90d, all, or any number of days such as 14d")]
StatsPeriodArgument = Annotated[
    str | None,
    typer.Argument(help="7d, 30d (the default), 90d, all, or such as 14d; with --chart also weeks: 12w (its default)"),
]
ChartOption = Annotated[
    Path | None,
    typer.Option("--chart", metavar="FILE.png", help="Draw the charts instead: the funnel, and FILE-trend.png"),
]
LocaleOption = Annotated[str, typer.Option("--locale", help="The charts' language: en, es or fa")]
GoalsOnOption = Annotated[
    str | None, typer.Option("--goals-on", help="Show the goals and break-even as of the end of this day (YYYY-MM-DD)")
]
StatsArgument = Annotated[str | None, typer.Argument(help="After `sources` or `money`: the period (default 30d)")]
_MRKDWN = re.compile(r"[*`]|:warning: ?")


def _period(command: str, text: str) -> Period:
    period = parse_period(text, SystemClock().now())
    if period is None:
        err.print(f"referral-bot {command}: {text!r} is not a period (7d, 30d, 90d, all, or such as 14d)")
        raise typer.Exit(2)
    return period


@app.command()
def stats(
    period: StatsPeriodArgument = None,
    then: StatsArgument = None,
    program: ProgramOption = None,
    goals_on: GoalsOnOption = None,
    chart: ChartOption = None,
    locale: LocaleOption = "en",
) -> None:
    """The funnel, response times, NPS, A/B variants, goals, sources and money: the figures of `/referrals stats`.
    `stats sources [PERIOD]` and `stats money [PERIOD]` show where referrals come from and what they are worth.
    `stats [PERIOD] --chart FILE.png` draws the charts of `/referrals stats chart` into FILE.png and FILE-trend.png."""
    from bot.reports.goals import as_it_stood
    from bot.reports.worth import VIEWS

    settings, rules = setup(program)
    view = period.lower() if period and period.lower() in VIEWS else None
    if view is None and then is not None:
        err.print(f"referral-bot stats: {period!r} is not sources or money, so {then!r} has no place after it")
        raise typer.Exit(2)
    if chart is not None:
        from bot.app.chart_cli import write_charts

        write_charts(settings, rules, period, view, chart, locale)
        return
    chosen = _period("stats", (then or "30d") if view else (period or "30d"))
    goals_at = SystemClock().now() if goals_on is None else as_it_stood(goals_on, rules)
    if goals_at is None:
        err.print(f"referral-bot stats: --goals-on {goals_on!r} is not a date (write it as YYYY-MM-DD)")
        raise typer.Exit(2)
    text = asyncio.run(stats_text(settings, rules, view, chosen, goals_at))
    # The slash command's own template, without Slack's bold and code marks.
    typer.echo("\n".join(_MRKDWN.sub("", line) for line in text.splitlines() if line.strip()))


@app.command()
def recount(program: ProgramOption = None) -> None:
    """Count the stats' tallies again from the referrals themselves, after rows were changed by hand."""
    from bot.app.wiring import open_migrated_store
    from bot.reports.tallies import counts_by_variant, total

    settings, _ = setup(program)

    async def main() -> tuple[int, int]:
        store = await open_migrated_store(settings)
        try:
            await store.recount_report_figures()
            counted = total(await counts_by_variant(store, None))
            return counted.arrived, counted.shares
        finally:
            await store.close()

    referrals, shares = asyncio.run(main())
    typer.echo(f"recounted the report figures: {_counted(referrals, 'referral')}, {_counted(shares, 'share')}")


@app.command()
def prune() -> None:
    """Delete now what RETENTION_DAYS lets go, as the running bot does every hour; safe while it runs."""
    from bot.app.wiring import open_migrated_store
    from bot.core.pruner import Pruner
    from bot.core.retention import summary

    settings = load_settings()
    if not settings.retention_days:
        err.print("referral-bot prune: RETENTION_DAYS is 0, which keeps everything: nothing was deleted")
        raise typer.Exit(2)

    async def main() -> str:
        store = await open_migrated_store(settings)
        try:
            return summary(await Pruner(store, SystemClock(), settings.retention_days).prune())
        finally:
            await store.close()

    typer.echo(f"pruned what is older than {settings.retention_days} days: {asyncio.run(main())}")


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV")],
    period: PeriodArgument = "30d",
) -> None:
    """Who referred whom and every status change, as CSV: the file `/referrals export` sends."""
    from bot.app.wiring import open_migrated_store
    from bot.reports.stats import export_csv

    settings = load_settings()
    chosen = _period("export", period)

    async def main() -> str:
        store = await open_migrated_store(settings)
        try:
            return await export_csv(store, chosen)
        finally:
            await store.close()

    with progress("Exporting") as tick:
        tick(0, 0)
        lines = asyncio.run(main()).splitlines(keepends=True)
        try:
            with file.open("w", encoding="utf-8", newline="") as out:
                for number, line in enumerate(lines, 1):
                    out.write(line)
                    if number % 500 == 0 or number == len(lines):
                        tick(number, len(lines))
        except OSError as exc:
            err.print(f"referral-bot export: {file}: {exc.strerror}", highlight=False)
            raise typer.Exit(2) from None
    rows = len(lines) - 1
    typer.echo(f"exported {rows} line{'' if rows == 1 else 's'} ({chosen.label}) to {file}")


@app.command()
def backup(file: Annotated[Path, typer.Argument(help="Where to write the copy of the database")]) -> None:
    """Copy the database with SQLite's online backup, safe while the bot runs; the copy is checked before it stays."""
    url = load_settings().database_url
    if not url.startswith("sqlite:///"):  # PostgreSQL has its own tools, which know its WAL and replicas
        err.print("referral-bot backup: the database is PostgreSQL: back it up with pg_dump or pg_basebackup")
        raise typer.Exit(2)
    source_path = url.removeprefix("sqlite:///")
    if not Path(source_path).exists():
        err.print(f"referral-bot backup: no database at {source_path}", highlight=False)
        raise typer.Exit(2)
    if not file.parent.is_dir():  # said before anything is written, so nothing is left behind
        err.print(f"referral-bot backup: the folder {file.parent} does not exist; create it first", highlight=False)
        raise typer.Exit(2)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        pages = _copy(source_path, partial)
        verdict = integrity(partial)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        err.print(f"referral-bot backup: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if verdict != "ok":
        err.print(f"referral-bot backup: the copy failed integrity_check ({verdict}); kept as {partial}")
        raise typer.Exit(1)
    os.replace(partial, file)
    typer.echo(f"backed up {pages} pages to {file}; integrity_check: ok")


def _copy(source_path: str, target: Path) -> int:
    with progress("Backing up") as tick:
        return backup_copy(source_path, target, tick)


# `check` works without the network; what only Telegram, Slack or the database can answer is left to `run`.
OFFLINE = (
    "checked offline: nothing was sent to Telegram or Slack and the database was not opened;"
    " `referral-bot run` checks the tokens, the Slack channels and the database when it starts"
)


@app.command()
def check(program: ProgramOption = None) -> None:
    """Check, without the network, everything `run` would refuse: settings, program file, TEMPLATES_DIR."""
    settings, problems = _settings_and_problems()
    path = program or (settings.program_file if settings else Path(os.environ.get("PROGRAM_FILE", "program.toml")))
    rules = None
    try:
        rules = load_program(path)
    except ConfigError as exc:
        problems.append(str(exc))
    if settings is not None:
        problems += run_problems(settings) + _smtp_problems(settings)
    for problem in problems:
        err.print(f"referral-bot check: {problem}", highlight=False, soft_wrap=True)
    if problems or settings is None or rules is None:
        err.print(f"referral-bot check: {_counted(len(problems), 'problem')}; {OFFLINE}", highlight=False)
        raise typer.Exit(2)
    templates = settings.templates_dir or "built-in"
    typer.echo(f"ok: settings, program {rules.program.name!r} ({path}), templates ({templates})")
    typer.echo(OFFLINE)


def _smtp_problems(settings: Settings) -> list[str]:
    from bot.app.wiring_outside import smtp_config

    try:
        smtp_config(settings) if settings.email_enabled else None
    except ConfigError as exc:
        return [str(exc)]
    return []


def _settings_and_problems() -> tuple[Settings | None, list[str]]:
    """The settings, with each invalid one named and put back to its default, so that the checks after it still
    run on the rest; None when a rule across settings failed, which no default can mend."""
    try:
        return Settings(), []
    except ValidationError as exc:
        errors = exc.errors()
    problems, defaults = [], {}
    for error in errors:
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"setting {field.upper()}: {message}" if field else f"setting {message}")
        if field in Settings.model_fields:
            defaults[field] = Settings.model_fields[field].default
    try:
        return Settings(**defaults), problems
    except ValidationError:
        return None, problems


@app.command()
def forget(
    telegram_user_id: Annotated[int | None, typer.Argument(help="The person's Telegram user id")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Or their e-mail address")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Or their phone number, such as +15550001111")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    program: ProgramOption = None,
) -> None:
    """Erase a person's personal data (names, contacts, messages); anonymous counts stay. Name them by Telegram user
    id, or by e-mail address or phone number: an advocate imported by e-mail, a friend from the landing page."""
    from bot.app.forget_cli import forget_target, report, target_of

    target = target_of(telegram_user_id, email, phone)
    settings, rules = setup(program)
    if not yes and not typer.confirm(f"Erase everything stored about {target.shown}?"):
        err.print("referral-bot forget: nothing erased")
        raise typer.Exit(1)
    report(target, forget_target(settings, rules, target))
