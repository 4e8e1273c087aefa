"""Checks `referral-bot run` makes before it takes any work, each failing with one line that names the
setting to fix (the CLI prints it and exits with status 2).

The tokens are checked where they are first used (Telegram's getMe, Slack's auth.test) and the program
file where it is loaded; these are the rest: a database the bot can write, and Slack channels it can post in.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.core.errors import ConfigError
from bot.team.alerts import Team
from storage import sqlite_write_problem

ChannelInfo = Callable[[str], Awaitable[dict[str, Any]]]


async def check_database_writable(path: Path) -> None:
    """SQLite writes the file and, beside it, its journal and lock files: both must be writable. Found
    now, not at the first referral, which would fail after the bot had told everyone it was running."""
    problem = await asyncio.to_thread(_write_problem, path)
    if problem:
        raise ConfigError(f"setting DATABASE_URL: {problem}")


def _write_problem(path: Path) -> str | None:
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot create files in {folder} (SQLite keeps its journal beside the database): {exc.strerror}"
    if not path.exists():
        return None
    if not os.access(path, os.W_OK):
        return f"{path} is read-only"
    return sqlite_write_problem(path)


async def check_slack_channels(team: Team, info: ChannelInfo) -> None:
    await _check_channel("SLACK_ALERT_CHANNEL", team.alert_channel, info)
    if team.support_channel and team.support_channel != team.alert_channel:
        await _check_channel("SLACK_SUPPORT_CHANNEL", team.support_channel, info)


async def _check_channel(setting: str, channel: str, info: ChannelInfo) -> None:
    found = await info(channel)
    error = found.get("error")
    if error == "channel_not_found":
        raise ConfigError(
            f"setting {setting}: Slack has no channel {channel} the bot can see"
            " (use the channel's id, such as C0123ABCD; invite the bot first to a private channel)"
        )
    if error == "missing_scope":
        raise ConfigError(f"setting {setting}: the Slack app needs the channels:read scope to check {channel}")
    if error:
        raise ConfigError(f"setting {setting}: Slack did not describe {channel} ({error})")
    if not found.get("is_member", False):
        raise ConfigError(
            f"setting {setting}: the bot is not a member of #{found.get('name', channel)}; invite it there"
            " (/invite @ the bot's name in that channel)"
        )
