"""The operator's commands as an operator runs them: real `referral-bot` processes beside a running bot."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from pathlib import Path

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import MAYA, ROOT, Operator, settings_for
from helpers import ask, converted_referral, environment, referral_bot, run, start


async def test_stats_prints_the_figures_of_the_slash_command(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    slash = await ask(slack, MAYA, "stats all")
    # The goals as on the test clock's day: the command itself runs on the real clock.
    code, out, _ = await run(operator.path.parent, "stats", "all", "--goals-on", f"{clock.now():%Y-%m-%d}")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Referrals, all time"
    assert "Asked 0 → shared 0 → arrived 1 → claimed 1 → contacted 1 → converted 1" in lines
    assert "Conversion rate: 100.0%" in lines
    assert "Median time to claim: 3 min · to first contact: 10 min" in lines
    # every line is the slash command's line without Slack's marks, pointing to the terminal's own commands
    for line in lines:
        assert line in slash.replace("*", "").replace("`", "").replace("/referrals stats", "referral-bot stats")
    code, _, err = await run(operator.path.parent, "stats", "fortnight")
    assert code == 2 and "'fortnight' is not a period" in err


async def test_recount_puts_the_figures_right_after_a_referral_was_changed_by_hand(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    # The rep converted the wrong referral; an operator puts it back to claimed with the sqlite3 shell.
    operator.execute("UPDATE referrals SET status = 'claimed', contacted_at = NULL, converted_at = NULL")
    _, before, _ = await run(operator.path.parent, "stats", "all")
    assert "Asked 0 → shared 0 → arrived 1 → claimed 1 → contacted 1 → converted 1" in before.splitlines()
    code, out, _ = await run(operator.path.parent, "recount")
    assert code == 0 and out.strip() == "recounted the report figures: 1 referral, 0 shares"
    _, after, _ = await run(operator.path.parent, "stats", "all")
    assert "Asked 0 → shared 0 → arrived 1 → claimed 1 → contacted 0 → converted 0" in after.splitlines()
    assert "Median time to claim: 3 min · to first contact: n/a" in after.splitlines()


async def test_export_writes_the_csv_managers_get_in_slack(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    target = operator.path.parent / "trail.csv"
    code, out, _ = await run(operator.path.parent, "export", str(target), "all")
    assert code == 0 and out.strip() == f"exported 4 lines (all) to {target}"
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["event"] for row in rows] == ["created", "claimed", "contacted", "converted"]
    assert {row["referrer_name"] for row in rows} == {"Ana"} and rows[-1]["detail"] == "deal_value=950.00"


async def test_export_keeps_formulas_as_text(engine: Engine, telegram: TelegramEmulator, operator: Operator) -> None:
    code, _ = await start(telegram, 1001, "=HYPERLINK(1)")
    await telegram.open_deep_link(telegram.user(2001, "@Ben"), code)
    await telegram.wait_for_messages(1001, 2)
    target = operator.path.parent / "trail.csv"
    assert (await run(operator.path.parent, "export", str(target), "all"))[0] == 0
    (row,) = csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))
    assert row["referrer_name"] == "'=HYPERLINK(1)" and row["friend_name"] == "'@Ben"


async def test_backup_while_running_opens_passes_integrity_check_and_runs_a_bot(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator, tmp_path: Path
) -> None:
    async with await build_engine(settings_for(telegram, operator.path), program, clock):
        code, _ = await start(telegram, 1001, "Ana")
        await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
        await telegram.wait_for_messages(1001, 2)
        copy = tmp_path / "backups" / "referrals-copy.db"
        copy.parent.mkdir()
        exit_code, out, _ = await run(tmp_path, "backup", str(copy))
    assert exit_code == 0
    assert out.startswith("backed up ") and out.strip().endswith(f"to {copy}; integrity_check: ok")
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not copy.with_name(copy.name + ".partial").exists()
    restored = Operator(copy)
    async with await build_engine(settings_for(telegram, copy), program, clock):
        await telegram.send_command(telegram.user(1001, "Ana"), "referrals")
        mine = (await telegram.wait_for_messages(1001, 3))[2]
        assert "• Ben: waiting for our team" in mine.text  # the restored bot knows Ana's referral
    assert restored.count("customers") == 2


async def test_backup_refuses_a_missing_database(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "backup", str(tmp_path / "copy.db"))
    assert code == 2 and f"no database at {tmp_path / 'referrals.db'}" in err
    assert not (tmp_path / "copy.db").exists()


async def test_backup_of_postgresql_points_to_its_own_tools(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test"
    code, out, err = await run(tmp_path, "backup", str(tmp_path / "copy.db"), DATABASE_URL=url)
    assert code == 2 and out == ""
    assert "the database is PostgreSQL: back it up with pg_dump or pg_basebackup" in err
    assert not (tmp_path / "copy.db").exists()


async def test_check_says_ok_or_names_each_problem(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "check")
    assert code == 0
    ok = f"ok: settings, program 'Acme Coffee' ({ROOT / 'program.example.toml'}), templates (built-in)"
    assert out.splitlines()[0] == ok and out.splitlines()[1].startswith("checked offline: ")
    bad = tmp_path / "program.toml"
    bad.write_text((ROOT / "program.example.toml").read_text().replace("window_days = 30", "window_days = 0"))
    code, out, err = await run(
        tmp_path, "check", PROGRAM_FILE=str(bad), SQLITE_SYNCHRONOUS="SOMETIMES", TEMPLATES_DIR=str(tmp_path / "none")
    )
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "referral-bot check: setting SQLITE_SYNCHRONOUS: Input should be 'FULL', 'EXTRA' or 'NORMAL'"
    assert lines[1].startswith("referral-bot check: setting TEMPLATES_DIR: ")
    assert "field attribution.window_days (line 34): Input should be greater than or equal to 1" in lines[2]
    assert lines[3].startswith("referral-bot check: 3 problems; checked offline: ")
    assert len(lines) == 4
    assert not (tmp_path / "referrals.db").exists()  # nothing was started, not even the database


async def test_check_names_a_missing_slack_setting(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "check", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1")
    assert code == 2
    assert err.splitlines()[0] == (
        "referral-bot check: setting SLACK_ALERT_CHANNEL: required with SLACK_BOT_TOKEN (the channel id for alerts)"
    )
    assert len(err.splitlines()) == 2  # and the count, saying it checked offline


async def test_forget_asks_first_and_needs_a_known_person(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    code, out, err = await run(operator.path.parent, "forget", "1001", stdin=b"n\n")
    assert code == 1 and "Erase everything stored about Telegram user 1001? [y/N]" in out
    assert "nothing erased" in err and operator.rows("SELECT first_name FROM customers") == [{"first_name": "Ana"}]
    code, _, err = await run(operator.path.parent, "forget", "4242", "--yes")
    assert code == 1 and "no customer with Telegram user id 4242" in err
    code, out, _ = await run(operator.path.parent, "forget", "1001", stdin=b"y\n")
    assert code == 0 and "forgot Telegram user 1001" in out
    assert operator.rows("SELECT first_name FROM customers") == [{"first_name": ""}]


async def test_a_running_bot_keeps_serving_while_stats_and_backup_run(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    process = await referral_bot(operator.path.parent, environment(None, operator.path.parent), "stats", "all")
    await start(telegram, 1001, "Ana")
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0 and out.decode().startswith("Referrals, all time")
