"""The `referral-bot` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from bot.app import operator_cli, triggers_cli  # noqa: F401  (register stats, backup, check, triggers ... on `app`)
from bot.app.cli_base import ProgramOption, app, err, progress, setup
from bot.core.errors import ConfigError, Unreachable, unreachable
from bot.program.rules import Program
from bot.program.settings import Settings, hide_password, load_settings

if TYPE_CHECKING:
    from bot.rewards.coupons import CodeLine


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Where to write .env and program.toml")] = Path("."),
) -> None:
    """Write a starting .env and program.toml here from the examples; existing files are left alone."""
    from bot.app.examples import ENV_EXAMPLE, PROGRAM_EXAMPLE

    for example, name in ((ENV_EXAMPLE, ".env"), (PROGRAM_EXAMPLE, "program.toml")):
        target = folder / name
        if target.exists():
            typer.echo(f"kept {target}: it already exists")
            continue
        try:
            target.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
            if name == ".env":
                target.chmod(0o600)  # it will hold the tokens
        except OSError as exc:
            err.print(f"referral-bot init: {target}: {exc.strerror}", highlight=False)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {target}")
    typer.echo("next: put your bot's token from @BotFather in .env (TELEGRAM_BOT_TOKEN), make program.toml yours,")
    typer.echo("then `referral-bot check` and `referral-bot run`")


@app.command()
def run(program: ProgramOption = None) -> None:
    """Run the bot until SIGINT or SIGTERM."""
    from bot.app.wiring import build_engine, startup_summary

    settings, rules = setup(program)

    async def main() -> None:
        async with await build_engine(settings, rules) as engine:
            for line in startup_summary(engine, settings, rules):
                logging.getLogger("bot").info("%s", line)
            await engine.serve()

    asyncio.run(main())


@app.command()
def migrate(
    source: Annotated[str | None, typer.Option("--from", help="Copy a program from this sqlite:/// database")] = None,
    target: Annotated[str | None, typer.Option("--to", help="... into this empty postgresql:// database")] = None,
) -> None:
    """Create or update the database schema; with --from and --to, copy a program into PostgreSQL."""
    from bot.app.wiring import migrate as update_schema
    from bot.app.wiring import open_database

    if source or target:
        _copy(source, target)
        return
    settings = load_settings()

    async def main() -> list[str]:
        store = await open_database(settings)
        applied = await update_schema(store, settings)
        await store.close()
        return applied

    applied = asyncio.run(main())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


def _copy(source: str | None, target: str | None) -> None:
    from storage.sqlite_to_postgres import CopyRefused, copy_sqlite_to_postgres

    if not (source or "").startswith("sqlite:///") or not (target or "").startswith(("postgresql://", "postgres://")):
        err.print("referral-bot migrate: copy with --from sqlite:///path.db --to postgresql://user@host/database")
        raise typer.Exit(2)
    assert source is not None and target is not None
    path = source.removeprefix("sqlite:///")
    if not Path(path).is_file():
        err.print(f"referral-bot migrate: {path}: no such database file", highlight=False)
        raise typer.Exit(2)
    try:
        with progress("Copying") as tick:
            copied = asyncio.run(copy_sqlite_to_postgres(path, target, tick))
    except CopyRefused as exc:
        err.print(f"referral-bot migrate: {exc}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as exc:  # the PostgreSQL server refused, or its name did not resolve
        raise unreachable("the database", hide_password(target), "--to", exc) from None
    for table, count in copied.rows.items():
        typer.echo(f"{table}: {count} row{'' if count == 1 else 's'}")
    typer.echo(f"copied {sum(copied.rows.values())} rows into PostgreSQL")


@app.command()
def demo() -> None:
    """Tell the whole story against the local emulators: no token, no network."""
    from bot.app.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo()))


@app.command()
def playground(
    program: Annotated[Path | None, typer.Option("--program", help="Program file (default: the example)")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (default: a free one)")] = 0,
) -> None:
    """Both sides in the browser, Telegram and Slack, against the local emulators, until Ctrl-C."""
    from bot.app.playground.run import run_playground

    raise typer.Exit(asyncio.run(run_playground(program, port)))


@app.command()
def ask(
    segment: Annotated[str, typer.Option("--segment", help="Who to ask: inner_circle, customer, partner, ...")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say who would be asked; change nothing")] = False,
    program: ProgramOption = None,
) -> None:
    """Ask a segment to refer: only those not asked too recently or often, not opted out, outside quiet hours."""
    from bot.app.operator_services import operator_services
    from bot.engagement.asks import UnknownSegment

    settings, rules = setup(program)

    async def main() -> list[str]:
        async with operator_services(settings, rules, links=not dry_run) as services:
            with progress("Asking") as tick:
                report = await services.campaigns.run(segment.lower(), dry_run, actor="cli", progress=tick)
        return report.lines(rules.asks)

    try:
        lines = asyncio.run(main())
    except UnknownSegment as exc:
        err.print(f"referral-bot ask: {exc}", highlight=False)
        raise typer.Exit(2) from None
    typer.echo("\n".join(lines))


@app.command("import-advocates")
def import_advocates(
    file: Annotated[Path, typer.Argument(help="CSV with telegram_id, first_name, last_name, language, segment")],
    program: ProgramOption = None,
) -> None:
    """Add or update advocates from a CSV file; bad lines are reported by number and skipped."""
    from bot.app.operator_services import operator_services
    from bot.integrations.advocates import AdvocateImport, CsvError, ImportReport, read_csv

    settings, rules = setup(program)
    try:
        good, bad = read_csv(file.read_bytes())
    except (OSError, CsvError) as exc:
        err.print(f"referral-bot import-advocates: {file}: {getattr(exc, 'strerror', None) or exc}", highlight=False)
        raise typer.Exit(2) from None

    async def main() -> tuple[int, int]:
        async with operator_services(settings, rules, links=False) as services:
            with progress("Importing") as tick:
                return await AdvocateImport(services.units).run(good, tick)

    created, updated = asyncio.run(main())
    typer.echo("\n".join(ImportReport(created, updated, tuple(bad)).lines()))


@app.command("import-coupons")
def import_coupons(
    pool: Annotated[str, typer.Argument(help="The pool's name, as a coupon reward names it in the program")],
    file: Annotated[Path, typer.Argument(help="Codes one per line, or a CSV with a `code` column")],
    program: ProgramOption = None,
) -> None:
    """Add codes to a coupon pool; bad and repeated lines are reported by number and skipped."""
    from bot.rewards.coupons import POOL, pools_of, read_codes

    settings, rules = setup(program)
    if not POOL.match(pool):
        err.print(f"referral-bot import-coupons: {pool!r} is not a pool name (letters, digits, - and _)")
        raise typer.Exit(2)
    try:
        lines = list(read_codes(file.read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"referral-bot import-coupons: {file}: {getattr(exc, 'strerror', None) or exc}", highlight=False)
        raise typer.Exit(2) from None
    good = [line for line in lines if line.code is not None]
    added, already, left, settled = asyncio.run(_import_codes(settings, rules, pool, good))
    for number, problem in sorted([(line.number, line.problem) for line in lines if line.problem] + already):
        typer.echo(f"skipped line {number}: {problem}")
    typer.echo(f"imported {added} code{'' if added == 1 else 's'} into {pool}; {left} available")
    if settled:
        typer.echo(f"{settled} waiting reward{'' if settled == 1 else 's'} got a code")
    if pool not in pools_of(rules.incentives):
        typer.echo(f"note: no coupon reward in the program uses the pool {pool!r}")


async def _import_codes(
    settings: Settings, rules: Program, pool: str, good: list[CodeLine]
) -> tuple[int, list[tuple[int, str]], int, int]:
    """Store the codes, hand codes to rewards that waited for one, and count what the pool now holds."""
    from bot.app.operator_services import operator_services
    from bot.rewards.coupons import import_codes
    from bot.rewards.ledger import Rewards

    async with operator_services(settings, rules, links=False) as services:
        with progress("Importing") as tick:
            done = [0]

            def advance(count: int) -> None:
                done[0] += count
                tick(done[0], len(good))

            result = await import_codes(services.units.store, pool, good, services.units.clock.now(), advance)
        inbound = f"cli:import-coupons:{pool}:{services.units.clock.now().isoformat()}"
        settled = await Rewards(services.units).settle_owed(inbound, pool)
        async with services.units.store.reading() as tx:
            left = await tx.coupons_left(pool)
    already = [(line.number, f"{line.code!r} is already in the pool") for line in result.already]
    return result.added, already, left, settled


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        # Status 2: deploy/referral-bot.service does not restart on it (RestartPreventExitStatus=2), as a wrong
        # setting fails the same way every time until someone fixes it.
        _fail(exc, 2)
    except Unreachable as exc:
        # Status 1, which the unit restarts on (Restart=on-failure): a network that is down or a server still
        # starting usually comes back, and the bot should then start without anyone stepping in.
        _fail(exc, 1)
    except ModuleNotFoundError as exc:
        # A module of the package itself is missing: the installation is broken and stays broken, so status 2
        # keeps systemd from restarting it every few seconds forever.
        _fail(ConfigError(f"this installation is incomplete ({exc}): install referral-bot again"), 2)


def _fail(error: Exception, status: int) -> None:
    """One line on stderr that starts with the command, as `referral-bot run: ...`; no traceback."""
    words = [word for word in sys.argv[1:] if not word.startswith("-")]  # the command is the first word
    command = f"referral-bot {words[0]}" if words else "referral-bot"
    err.print(f"[bold red]{escape(command)}:[/] {escape(str(error))}", highlight=False)
    raise SystemExit(status) from None
