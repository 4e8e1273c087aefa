"""Logs as an operator's collector reads them: LOG_FORMAT=json gives one JSON object a line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from bot.app.demo import TOKEN
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import slack_settings
from helpers import environment, referral_bot
from postgres import SERVER, fresh_schema


async def test_json_logs_are_one_object_a_line_with_time_level_logger_and_message(
    telegram: TelegramEmulator, tmp_path: Path
) -> None:
    stderr = await serve_ana(telegram, tmp_path, "json")
    lines = [json.loads(line) for line in stderr.splitlines()]
    running = next(line for line in lines if line["message"] == "running: Acme Coffee")
    assert running["level"] == "INFO" and running["logger"] == "bot"
    assert running["time"].endswith("+00:00")
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)


async def test_an_exception_is_logged_with_its_traceback_in_one_json_line(tmp_path: Path) -> None:
    script = (
        "import logging; from bot.app.logs import configure; configure('INFO', 'json')\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('bot.delivery.outbox').exception('send failed')\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=Path(__file__).parent.parent, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    (line,) = stderr.decode().splitlines()
    logged = json.loads(line)
    assert (logged["level"], logged["logger"], logged["message"]) == ("ERROR", "bot.delivery.outbox", "send failed")
    assert "ZeroDivisionError: division by zero" in logged["exception"]


async def test_text_logs_stay_plain_lines(telegram: TelegramEmulator, tmp_path: Path) -> None:
    assert " INFO bot: running: Acme Coffee" in await serve_ana(telegram, tmp_path, "text")


async def test_an_unknown_log_format_is_named_at_start_up(tmp_path: Path) -> None:
    process = await referral_bot(tmp_path, environment(None, tmp_path, LOG_FORMAT="xml"), "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stderr.decode().strip() == "referral-bot run: setting LOG_FORMAT: Input should be 'text' or 'json'"


async def serve_ana(telegram: TelegramEmulator, tmp_path: Path, log_format: str) -> str:
    """`referral-bot run` with that log format answers Ana's /start and stops on SIGTERM; returns what it logged."""
    env = environment(telegram, tmp_path, LOG_FORMAT=log_format, HTTP_PORT="0")
    process = await referral_bot(tmp_path, env, "run")
    try:
        await telegram.send_command(telegram.user(1001, "Ana"), "start")
        await telegram.wait_for_messages(1001, 1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


SECRETS = {
    "TELEGRAM_WEBHOOK_SECRET": "tg-hook-Secret-0123456789",
    "CRM_API_TOKEN": "crm-Token-0123456789",
    "WEBHOOK_SECRET": "webhook-Secret-0123456789",
    "SLACK_SIGNING_SECRET": "test-secret",
}


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_debug_logs_show_no_secret_in_either_format(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path, log_format: str
) -> None:
    with fresh_schema() as schema:
        database = schema.url.replace("postgres@", "postgres:db-Pass-0123456789@", 1)
        slack_env = {key.upper(): str(value) for key, value in slack_settings(slack, "socket").items()}
        extra = {**slack_env, **SECRETS, "DATABASE_URL": database, "LOG_LEVEL": "DEBUG"}
        env = environment(telegram, tmp_path, LOG_FORMAT=log_format, **extra)
        process = await referral_bot(tmp_path, env, "run")
        try:
            await slack.wait_for_socket(timeout=30)
            await telegram.send_command(telegram.user(1001, "Ana"), "start")
            await telegram.wait_for_messages(1001, 1, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    output = out.decode() + err.decode()
    assert process.returncode == 0, output
    assert "running: Acme Coffee" in output and "***" in output
    secrets = [TOKEN, "xoxb-test", "xapp-test", "db-Pass-0123456789", *SECRETS.values()]
    assert [secret for secret in secrets if secret in output] == []


async def test_a_failed_start_up_shows_no_database_password(tmp_path: Path) -> None:
    unknown = SERVER.replace("postgres@", "postgres:db-Pass-0123456789@", 1).rsplit("/", 1)[0] + "/no_such_db"
    env = environment(None, tmp_path, DATABASE_URL=unknown, LOG_LEVEL="DEBUG")
    process = await referral_bot(tmp_path, env, "run")
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    output = out.decode() + err.decode()
    assert process.returncode == 2, output
    assert 'database "no_such_db" does not exist' in output
    assert "db-Pass-0123456789" not in output and "postgres:***@" in output
