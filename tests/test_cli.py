"""The `referral-bot` command as an operator runs it: a real process against the emulator."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, ROOT, Operator, slack_settings
from helpers import environment, referral_bot


async def test_run_serves_customers_and_stops_cleanly_on_sigterm(telegram: TelegramEmulator, tmp_path: Path) -> None:
    process = await referral_bot(tmp_path, environment(telegram, tmp_path), "run")
    try:
        await telegram.send_command(telegram.user(1001, "Ana"), "start")
        (welcome,) = await telegram.wait_for_messages(1001, 1, timeout=30)
        assert welcome.text.startswith("Hi Ana, welcome to the Acme Coffee referral program!")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "running: Acme Coffee" in stderr.decode()
    assert Operator(tmp_path / "referrals.db").rows("SELECT status FROM outbox") == [{"status": "sent"}]


async def test_migrate_creates_the_schema_once(tmp_path: Path) -> None:
    env = environment(None, tmp_path)
    first = await referral_bot(tmp_path, env, "migrate")
    out, _ = await first.communicate()
    applied = "applied: 0001_initial, 0002_team, 0003_slack_alerts, 0004_rewards, 0005_asks, 0006_feedback"
    applied += ", 0007_report_indexes, 0009_stored_durations, 0010_report_tallies, 0011_rep_indexes"
    applied += ", 0012_advocate_tallies, 0013_request_keys, 0014_outbox_subjects, 0015_retention_indexes"
    applied += ", 0016_parked_updates"
    applied += ", 0017_goal_indexes"
    applied += ", 0018_referral_sources"
    applied += ", 0019_kit_files"
    applied += ", 0020_ask_triggers"
    applied += ", 0021_one_friend_across_paths, 0022_outside_telegram"
    applied += ", 0023_team_members, 0024_routing"
    applied += ", 0025_outbox_lanes"
    applied += ", 0026_notification_windows"
    applied += ", 0027_outbox_held"
    assert first.returncode == 0 and out.decode().strip() == applied
    second = await referral_bot(tmp_path, env, "migrate")
    out, _ = await second.communicate()
    assert out.decode().strip() == "database is up to date"
    versions = Operator(tmp_path / "referrals.db").rows("SELECT version FROM schema_migrations")
    # 0008 is PostgreSQL's alone
    assert versions == [{"version": n} for n in (*range(1, 8), *range(9, 28))]


async def test_a_bad_program_file_stops_start_up_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "program.toml"
    bad.write_text((ROOT / "program.example.toml").read_text().replace("window_days = 30", "window_days = 0"))
    process = await referral_bot(tmp_path, environment(None, tmp_path, PROGRAM_FILE=str(bad)), "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "field attribution.window_days (line 34): Input should be greater than or equal to 1" in lines[0]


async def test_a_refused_token_stops_start_up_with_one_line(telegram: TelegramEmulator, tmp_path: Path) -> None:
    env = environment(telegram, tmp_path, TELEGRAM_BOT_TOKEN="999:WRONG")
    process = await referral_bot(tmp_path, env, "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stderr.decode().strip() == "referral-bot run: setting TELEGRAM_BOT_TOKEN: Telegram refused the token"


async def test_run_starts_the_slack_side_in_socket_mode(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    extra = {key.upper(): str(value) for key, value in slack_settings(slack, "socket").items()}
    process = await referral_bot(tmp_path, environment(telegram, tmp_path, **extra), "run")
    try:
        await slack.wait_for_socket(timeout=30)
        slack.mode = "socket"
        code_message = await start_and_link(telegram)
        await telegram.open_deep_link(telegram.user(2001, "Ben"), code_message)
        (alert,) = await slack.wait_for_messages(ALERTS, 1, timeout=30)
        assert "Ben was referred by *Ana*" in alert.plain()
        response = await slack.slash_command(MAYA, "/referrals", "pending", channel_id=ALERTS)
        assert response.status == 200
        await slack.wait_for(lambda: len(slack.responses) == 1, timeout=15, what="pending answer")
        assert "*Waiting for the team* (1)" in slack.responses[0]["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()


async def start_and_link(telegram: TelegramEmulator) -> str:
    await telegram.send_command(telegram.user(1001, "Ana"), "start")
    (welcome,) = await telegram.wait_for_messages(1001, 1, timeout=30)
    return welcome.text.split("?start=")[1].split()[0]
