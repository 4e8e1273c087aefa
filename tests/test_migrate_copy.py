"""`referral-bot migrate --from sqlite:///… --to postgresql://…`: a running program moves to PostgreSQL whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, Operator, eventually, team_bot
from helpers import current, environment, referral_bot, start
from postgres import Schema, fresh_schema


async def copy(tmp_path: Path, source: str, target: str) -> tuple[int, str, str]:
    process = await referral_bot(tmp_path, environment(None, tmp_path), "migrate", "--from", source, "--to", target)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as comparable tuples, in a stable order, whatever order each database returns them in."""
    return sorted((tuple(sorted(row.items())) for row in rows), key=repr)


def tables_of(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'")
        return sorted(row[0] for row in names)


async def test_a_running_program_is_copied_whole_and_goes_on_in_postgresql(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, tmp_path: Path
) -> None:
    sqlite = Operator(tmp_path / "referrals.db")
    with fresh_schema() as schema:
        async with team_bot(telegram, slack, program, clock, sqlite.path):
            code, _ = await start(telegram, 1001, "Ana")
            await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
            (alert,) = await slack.wait_for_messages(ALERTS, 1)
            await slack.click(RITA, alert, "referral_claim")
            await eventually(lambda: sqlite.rows("SELECT status FROM referrals") == [{"status": "claimed"}])
            # The bot is still running on the file: the copy reads one consistent moment of it.
            status, out, err = await copy(tmp_path, f"sqlite:///{sqlite.path}", schema.url)
            assert status == 0, err
            assert (
                out.splitlines()[-1]
                == f"copied {sum(sqlite.count(t) for t in tables_of(sqlite.path))} rows into PostgreSQL"
            )
            assert "referrals: 1 row" in out.splitlines()
            await _same_program(sqlite, schema)
        # The SQLite bot stops before the PostgreSQL one starts, as on the day of the move: two bots polling one
        # token would each take some of the updates.
        await _goes_on(telegram, slack, program, clock, schema, alert.ts, code)


async def _same_program(sqlite: Operator, schema: Schema) -> None:
    for name in tables_of(sqlite.path):
        columns = ", ".join(row["name"] for row in sqlite.rows(f"PRAGMA table_info({name})"))
        assert table(schema.rows(f"SELECT {columns} FROM {name}")) == table(
            sqlite.rows(f"SELECT {columns} FROM {name}")
        )


async def _goes_on(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    schema: Schema,
    alert_ts: str,
    code: str,
) -> None:
    """A bot on PostgreSQL knows everything the SQLite one did: the claimed referral, the posted alert, the code."""
    async with team_bot(telegram, slack, program, clock, schema.url):
        alert = next(m for m in slack.messages(ALERTS) if m.ts == alert_ts)
        await slack.click(RITA, alert, "referral_contacted")
        await slack.wait_for(lambda: "Contacted" in current(slack, alert).plain(), what="alert updated in place")
        await telegram.open_deep_link(telegram.user(2002, "Cleo"), code)
        await slack.wait_for_messages(ALERTS, 2)
        # Cleo's welcome and Ana's thanks may still be on their way when the alert lands: wait for them too.
        unsent = "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'"
        await eventually(lambda: schema.rows(unsent) == [{"n": 0}], timeout=15)
    statuses = schema.rows("SELECT friend_name, status FROM referrals ORDER BY created_at")
    assert statuses == [{"friend_name": "Ben", "status": "contacted"}, {"friend_name": "Cleo", "status": "new"}]
    # the managers' figures carry on from the copied counts: Ben claimed before the copy and contacted after it
    funnel = "SELECT SUM(arrived) AS arrived, SUM(claimed) AS claimed, SUM(contacted) AS contacted"
    funnel += " FROM referral_tallies"
    assert schema.rows(funnel) == [{"arrived": 2, "claimed": 1, "contacted": 1}]
    assert schema.rows("SELECT claim_seconds FROM referrals WHERE friend_name = 'Ben'") == [{"claim_seconds": 0.0}]


async def test_a_postgresql_database_that_holds_a_program_is_refused(tmp_path: Path) -> None:
    sqlite = tmp_path / "referrals.db"
    with fresh_schema() as schema:
        status, _, _ = await copy(tmp_path, f"sqlite:///{sqlite}", schema.url)
        assert status == 2  # no such file yet
        migrated = await referral_bot(tmp_path, environment(None, tmp_path), "migrate")
        await migrated.communicate()
        with sqlite3.connect(sqlite) as db:
            db.execute(
                "INSERT INTO customers (telegram_id, first_name, language, segment, referral_code, variant,"
                " created_at, updated_at) VALUES (1001, 'Ana', 'en', 'customer', 'CODE', 'a', '2026', '2026')"
            )
        assert (await copy(tmp_path, f"sqlite:///{sqlite}", schema.url))[0] == 0
        status, out, err = await copy(tmp_path, f"sqlite:///{sqlite}", schema.url)
        assert status == 2 and out == ""
        assert "the PostgreSQL database already holds a program: copy into an empty one" in err
        assert schema.rows("SELECT first_name FROM customers") == [{"first_name": "Ana"}]  # copied once, kept


async def test_the_copy_names_what_it_needs(tmp_path: Path) -> None:
    status, _, err = await copy(tmp_path, "postgresql://somewhere/x", "sqlite:///y.db")
    assert status == 2
    assert "copy with --from sqlite:///path.db --to postgresql://user@host/database" in err
    status, _, err = await copy(tmp_path, f"sqlite:///{tmp_path / 'missing.db'}", "postgresql://localhost/test")
    assert status == 2 and "missing.db: no such database file" in err
