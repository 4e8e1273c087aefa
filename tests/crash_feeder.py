"""For the crash suite: `referral-bot run` as a process that can be killed, the people who arrive, and a census
of what each of them received."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.app.demo import TOKEN
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser

from conftest import ALERTS, ROOT, slack_settings

REFERRER_BASE = 1_000_000  # referrer j is Telegram user REFERRER_BASE + j, "Referrer j"
FRIEND_BASE = 10_000_000  # friend i is Telegram user FRIEND_BASE + i, "Friend i"
_THANKS = re.compile(r"Thank you, Referrer! Friend (\d+) just joined")


def read(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """The database as an operator reads it, with the plain sqlite3 client. Read-only, so that after a kill it
    is the restarted bot, not this reader closing last, that recovers the write-ahead log."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as connection:
        return list(connection.execute(sql, params))


def quiet_program(tmp_path: Path) -> Path:
    """The example program with the speed-to-lead timers out of reach: nudges depend on the time of day (Madrid
    business hours), and the census counts what arrivals cause. The velocity limit is lifted too: a referrer's
    twentieth friend in an hour would wait in the managers' review queue, not reach the channel the census reads."""
    text = (ROOT / "program.example.toml").read_text()
    text = text.replace("claim_within_minutes = 5", "claim_within_minutes = 10000")
    text = text.replace("escalate_after_minutes = 15", "escalate_after_minutes = 10080")
    text = text.replace("velocity_per_hour = 10\n", "velocity_per_hour = 10000\n")
    assert "= 10000" in text and "= 10080" in text, "program.example.toml changed its [sla] lines"
    assert "velocity_per_hour = 10000" in text, "program.example.toml changed its [limits] lines"
    path = tmp_path / "program.toml"
    path.write_text(text)
    return path


def environment(telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Both platforms on the emulators, Slack in Socket Mode (no port to find after each restart)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "SLACK_", "OUTBOX_"))}
    env.update({key.upper(): str(value) for key, value in slack_settings(slack, "socket").items()})
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'referrals.db'}",
        PROGRAM_FILE=str(quiet_program(tmp_path)),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        TELEGRAM_FILE_URL=telegram.base_file_url,
        TELEGRAM_POLL_TIMEOUT="1",
        LOG_LEVEL="WARNING",
        HTTP_PORT="0",  # a free port: a restarted bot never waits for the last one's
        NOTIFICATION_WINDOW_SECONDS="0",  # the census counts each friend's own thank-you, not merged ones
    )
    return {**env, **extra}


@dataclass
class BotProcess:
    """`python -m bot run`, started again after every kill; its output goes to one log file."""

    telegram: TelegramEmulator
    cwd: Path
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _first_request: int = 0
    _spawned: float = 0.0

    async def start(self) -> None:
        assert self.process is None, "the bot is already running"
        self._first_request = len(self.telegram.requests)
        self.started_at, self._spawned = datetime.now(UTC), time.monotonic()
        with self.log_path.open("ab") as log:  # a file, not a pipe: nobody would read a pipe while we kill
            log.write(f"--- started at {self.started_at.isoformat()}\n".encode())
            log.flush()
            self.process = await self._spawn(log)

    async def _spawn(self, log: IO[bytes]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.cwd, env=self.env, stdout=log, stderr=log
        )

    async def wait_polling(self, timeout: float = 60.0) -> float:
        """Until this process asks for updates (it is up, and its outbox runs); how long start-up took."""
        deadline = time.monotonic() + timeout
        while not any(r.method == "getUpdates" for r in self.telegram.requests[self._first_request :]):
            assert self.process is not None and self.process.returncode is None, self.crashed("died starting up")
            assert time.monotonic() < deadline, self.crashed(f"did not poll within {timeout}s")
            await asyncio.sleep(0.02)
        return time.monotonic() - self._spawned

    async def kill(self) -> None:
        assert self.process is not None
        assert self.process.returncode is None, self.crashed("had exited before its kill")
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), timeout=30)
        self.process = None

    async def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as an operator stops it; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=timeout)
        self.process = None
        return code

    async def ensure_stopped(self) -> None:
        if self.process is not None:
            if self.process.returncode is None:
                self.process.kill()
            await asyncio.wait_for(self.process.wait(), timeout=30)
            self.process = None

    def crashed(self, what: str) -> str:
        tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        return f"the bot {what}; the end of its log:\n{tail}"


def friend(telegram: TelegramEmulator, index: int) -> FakeUser:
    return telegram.user(FRIEND_BASE + index, "Friend", last_name=str(index))


async def register_referrers(telegram: TelegramEmulator, database: Path, count: int, timeout: float) -> list[str]:
    """Each referrer sends /start; their codes are read from the database once all are registered."""
    for j in range(count):
        await telegram.send_command(telegram.user(REFERRER_BASE + j, "Referrer", last_name=str(j)), "start")
    deadline = time.monotonic() + timeout
    while True:
        try:
            codes = dict(read(database, "SELECT telegram_id, referral_code FROM customers"))
        except sqlite3.OperationalError:  # not created, or not migrated, yet
            codes = {}
        if len(codes) == count:
            return [codes[REFERRER_BASE + j] for j in range(count)]
        assert time.monotonic() < deadline, f"{len(codes)} of {count} referrers registered after {timeout}s"
        await asyncio.sleep(0.2)


async def feed(telegram: TelegramEmulator, codes: list[str], arrivals: int, batches: int, interval: float) -> None:
    """Friends open their referrer's link in batches; Telegram keeps each update until the bot confirms it."""
    per_batch = -(-arrivals // batches)
    for first in range(0, arrivals, per_batch):
        for i in range(first, min(first + per_batch, arrivals)):
            await telegram.open_deep_link(friend(telegram, i), codes[i % len(codes)])
        await asyncio.sleep(interval)


def alerted(slack: SlackEmulator) -> set[str]:
    """Referral ids the team can see: on an alert card or a digest line (their buttons carry the id)."""
    return {str(button.get("value")) for post in slack.messages(ALERTS) for button in post.buttons()}


def already_delivered(
    telegram: TelegramEmulator, slack: SlackEmulator, leased: Sequence[tuple[Any, ...]]
) -> set[tuple[str, str]]:
    """Of the rows a kill left leased (id, platform, chat, payload), the (platform, id) of those that had reached
    their chat already: the bot did not live to record them as sent, so their lease ends in a second send (unless
    the sender finds its own record of it, as the Slack sender does for an alert whose location it stored)."""
    seen, out = alerted(slack), set()
    for row_id, platform, chat_id, payload in leased:
        data = json.loads(payload)
        if platform == "telegram":
            if any(message.html == data["text"] for message in telegram.messages(int(chat_id))):
                out.add((platform, row_id))
        elif data.get("referral_id") in seen:
            out.add((platform, row_id))
    return out


@dataclass(frozen=True)
class Census:
    """How many times each message reached the person it was for, by friend index (or referrer index). A
    referral reaches the team as its own alert card or, when the channel is backed up, as a line in a digest;
    either carries the referral's id on its buttons."""

    friend_welcomes: Counter[int]
    thanks: Counter[int]
    alerts: Counter[int]
    referrer_welcomes: Counter[int]
    slack_posts: Counter[str]  # cards and digests
    stray: list[str]  # anything nobody should have received

    @staticmethod
    def take(telegram: TelegramEmulator, slack: SlackEmulator, database: Path, referrers: int, friends: int) -> Census:
        census = Census(Counter(), Counter(), Counter(), Counter(), Counter(), [])
        for i in range(friends):
            for message in telegram.messages(FRIEND_BASE + i):
                census._tally(
                    census.friend_welcomes, i, message.text.startswith("Welcome to Acme Coffee"), message.text
                )
        for j in range(referrers):
            for message in telegram.messages(REFERRER_BASE + j):
                thanks = _THANKS.match(message.text)
                if thanks:
                    census.thanks[int(thanks.group(1))] += 1
                else:
                    census._tally(census.referrer_welcomes, j, message.text.startswith("Hi Referrer"), message.text)
        friend_of = {
            referral: friend - FRIEND_BASE
            for referral, friend in read(database, "SELECT id, friend_telegram_id FROM referrals")
        }
        for post in slack.messages(ALERTS):
            referrals = {button["value"] for button in post.buttons() if button.get("value") in friend_of}
            census.slack_posts["digest" if any("accessory" in block for block in post.blocks) else "card"] += 1
            for referral in referrals:
                census.alerts[friend_of[referral]] += 1
            if not referrals:
                census.stray.append(post.text[:120])
        return census

    def _tally(self, counter: Counter[int], key: int, expected: bool, text: str) -> None:
        if expected:
            counter[key] += 1
        else:
            self.stray.append(text[:120])

    @staticmethod
    def missing(counter: Counter[int], expected: Sequence[int]) -> list[int]:
        return [key for key in expected if counter[key] == 0]

    @staticmethod
    def duplicates(counter: Counter[int]) -> int:
        return sum(count - 1 for count in counter.values() if count > 1)
