"""Shared helpers for the benchmarks: machine facts, percentiles and the JSON result files."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app.demo import TOKEN, emulator_settings
from bot.program.rules import Program, load_program
from bot.program.settings import Settings
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def git_commit() -> str:
    """The commit the figures were measured at (with '+dirty' when the tree has changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge a figure: cores, load, python, date and commit."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cores": os.cpu_count(),
        "load_average_1m": round(load[0], 2),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted or unsorted samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def distribution(samples: Iterable[float], scale: float = 1000.0, digits: int = 2) -> dict[str, Any]:
    """p50/p90/p99/max of samples (seconds by default, reported in milliseconds with scale=1000)."""
    values = [s * scale for s in samples]
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits) if values else None,
    }


def write_result(name: str, figures: Mapping[str, Any]) -> Path:
    """Write bench/results/<name>.json: the run's figures with the machine's facts."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {"benchmark": name, "machine": machine_facts(), **figures}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{name}: wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def verdict(value: float, target: float, *, at_most: bool) -> str:
    """'met' or 'missed' for a figure against its target."""
    ok = value <= target if at_most else value >= target
    return "met" if ok else "missed"


# --- The world a benchmark runs in: both emulators and the settings that point the engine at them ---------------

BOT_USERNAME = "AcmeReferralBot"
ALERTS, REP, MANAGER = "C0ALERTS", "U0RITA", "U0MAYA"
PROGRAM = ROOT / "program.example.toml"


@dataclass
class World:
    telegram: TelegramEmulator
    slack: SlackEmulator
    database: Path

    def settings(self, **overrides: Any) -> Settings:
        """The engine's settings against both emulators (HTTP-mode Slack), per-chat limits lifted unless overridden."""
        slack = {
            "slack_bot_token": "xoxb-bench",
            "slack_api_url": self.slack.api_url,
            "slack_signing_secret": "bench-secret",
            "slack_http_host": "127.0.0.1",
            "slack_http_port": 0,
            "slack_alert_channel": ALERTS,
            "slack_manager_ids": MANAGER,
            "telegram_chat_rate_per_second": 1000.0,
            "telegram_chat_burst": 100,
            "slack_channel_rate_per_second": 1000.0,
        }
        return emulator_settings(self.telegram, self.database, **{**slack, **overrides})


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    """Both emulators on loopback and a fresh database file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        async with (
            TelegramEmulator(token=TOKEN, bot_username=BOT_USERNAME, bot_name="Acme Referrals") as telegram,
            SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-secret") as slack,
        ):
            slack.add_user(REP, "rita", real_name="Rita Rep")
            slack.add_user(MANAGER, "maya", real_name="Maya Manager")
            slack.add_channel(ALERTS, "referrals", members={REP, MANAGER})
            yield World(telegram, slack, Path(workdir) / "referrals.db")


def program() -> Program:
    return load_program(PROGRAM)


# --- The engine as it is deployed: `referral-bot run`, a process of its own ----------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def engine_environment(w: World, database_url: str, slack_port: int, http_port: int = 0) -> dict[str, str]:
    """`referral-bot run`'s settings against the world's emulators (Slack in HTTP mode), per-chat limits lifted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "OUTBOX_"))}
    return env | {
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(PROGRAM),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": w.telegram.base_url,
        "TELEGRAM_FILE_URL": w.telegram.base_file_url,
        "TELEGRAM_CHAT_RATE_PER_SECOND": "1000",
        "TELEGRAM_CHAT_BURST": "100",
        "NOTIFICATION_BURST": "100",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_API_URL": w.slack.api_url,
        "SLACK_SIGNING_SECRET": "bench-secret",
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": str(slack_port),
        "SLACK_ALERT_CHANNEL": ALERTS,
        "SLACK_MANAGER_IDS": MANAGER,
        "SLACK_CHANNEL_RATE_PER_SECOND": "1000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "LOG_LEVEL": "ERROR",
    }


@dataclass(frozen=True)
class EngineProcess:
    pid: int
    env: dict[str, str]
    log: Path


@asynccontextmanager
async def engine_process(w: World, changes: dict[str, str] | None = None) -> AsyncIterator[EngineProcess]:
    """`referral-bot run` on the world's SQLite file (with `changes` to its settings), started from this tree's
    directory so `python -m bot` imports this tree's code, and ready (polling); stopped with SIGTERM at the end. The
    emulators stay in this process, as Telegram's and Slack's servers are not on the bot's machine: their work does
    not compete with the engine's event loop."""
    slack_port, http_port = free_port(), free_port()
    log_path = w.database.parent / "engine.log"
    env = engine_environment(w, f"sqlite:///{w.database}", slack_port, http_port) | (changes or {})
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stdout=log, stderr=log
        )
        try:
            w.slack.bot_endpoint = f"http://127.0.0.1:{slack_port}/slack/events"
            deadline = time.monotonic() + 60
            while not any(r.method == "getUpdates" for r in w.telegram.requests):
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"referral-bot run did not start: {log_path.read_text()[-2000:]}")
                await asyncio.sleep(0.05)
            yield EngineProcess(process.pid, env, log_path)
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), timeout=60)
