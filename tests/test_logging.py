"""Logs as an operator's collector reads them: LOG_FORMAT=json gives one JSON object a line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from sandbox.telegram_api import TelegramEmulator

from helpers import environment, referral_bot


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
