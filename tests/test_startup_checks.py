"""`referral-bot run` refuses to start, with one line naming the setting to fix, when a token is refused,
the Slack channels are wrong, or the database cannot be written; and SIGINT stops it as cleanly as SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import settings_for, slack_settings
from helpers import environment, referral_bot


async def refusal(telegram: TelegramEmulator, program: Program, database: Path, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as refused:
        async with await build_engine(settings_for(telegram, database, **overrides), program, FakeClock()):
            pass
    return str(refused.value)


async def test_a_refused_slack_token_is_named(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, tmp_path: Path
) -> None:
    overrides = slack_settings(slack) | {"slack_bot_token": "xoxb-revoked"}
    line = await refusal(telegram, program, tmp_path / "r.db", **overrides)
    assert line == "setting SLACK_BOT_TOKEN: Slack refused the token (invalid_auth)"


async def test_an_alert_channel_slack_does_not_have_is_named(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, tmp_path: Path
) -> None:
    overrides = slack_settings(slack) | {"slack_alert_channel": "C0NOPE"}
    line = await refusal(telegram, program, tmp_path / "r.db", **overrides)
    assert line == (
        "setting SLACK_ALERT_CHANNEL: Slack has no channel C0NOPE the bot can see"
        " (use the channel's id, such as C0123ABCD; invite the bot first to a private channel)"
    )


async def test_a_private_channel_without_the_bot_is_not_found(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, tmp_path: Path
) -> None:
    slack.add_channel("G0SALES", "sales", private=True, bot_member=False)
    overrides = slack_settings(slack) | {"slack_alert_channel": "G0SALES"}
    line = await refusal(telegram, program, tmp_path / "r.db", **overrides)
    assert line.startswith("setting SLACK_ALERT_CHANNEL: Slack has no channel G0SALES the bot can see")


async def test_a_channel_the_bot_is_not_in_is_named_with_the_fix(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, tmp_path: Path
) -> None:
    slack.add_channel("C0HELP", "customer-care", bot_member=False)
    overrides = slack_settings(slack) | {"slack_support_channel": "C0HELP"}
    line = await refusal(telegram, program, tmp_path / "r.db", **overrides)
    assert line == (
        "setting SLACK_SUPPORT_CHANNEL: the bot is not a member of #customer-care; invite it there"
        " (/invite @ the bot's name in that channel)"
    )


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Read-only even for root (the tests may run as root, for whom file modes change nothing)."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot mark files immutable (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_a_read_only_database_file_is_named(telegram: TelegramEmulator, program: Program, tmp_path: Path) -> None:
    database = tmp_path / "r.db"
    async with await build_engine(settings_for(telegram, database), program, FakeClock()):
        pass  # a database that worked yesterday
    with immutable(database):
        line = await refusal(telegram, program, database)
    assert line == f"setting DATABASE_URL: {database} is read-only"


async def test_a_folder_the_database_cannot_be_created_in_is_named(
    telegram: TelegramEmulator, program: Program, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with immutable(folder):
        line = await refusal(telegram, program, folder / "r.db")
    assert line.startswith(
        f"setting DATABASE_URL: cannot create files in {folder} (SQLite keeps its journal beside the database): "
    )
    assert list(folder.iterdir()) == []  # nothing half created


async def test_a_missing_folder_is_named(telegram: TelegramEmulator, program: Program, tmp_path: Path) -> None:
    line = await refusal(telegram, program, tmp_path / "nowhere" / "r.db")
    assert line == f"setting DATABASE_URL: the folder {tmp_path / 'nowhere'} does not exist"


async def test_run_exits_2_with_the_one_line(telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path) -> None:
    settings = slack_settings(slack, "socket") | {"slack_alert_channel": "C0GONE", "http_port": 0}
    extra = {key.upper(): str(value) for key, value in settings.items()}
    process = await referral_bot(tmp_path, environment(telegram, tmp_path, **extra), "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines()[-1] == (
        "referral-bot run: setting SLACK_ALERT_CHANNEL: Slack has no channel C0GONE the bot can see"
        " (use the channel's id, such as C0123ABCD; invite the bot first to a private channel)"
    )


async def test_sigint_stops_run_cleanly_too(telegram: TelegramEmulator, tmp_path: Path) -> None:
    process = await referral_bot(tmp_path, environment(telegram, tmp_path, HTTP_PORT="0"), "run")
    try:
        await telegram.send_command(telegram.user(1001, "Ana"), "start")
        (welcome,) = await telegram.wait_for_messages(1001, 1, timeout=30)
        assert welcome.text.startswith("Hi Ana")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "stopping" in stderr.decode()
