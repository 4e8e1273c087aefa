"""Fault: the disk holding SQLite's database fills up while friends arrive.

`referral-bot run` runs as its own process, polling Telegram, with its database on a small tmpfs. The test fills
that file system with a file of its own, as a log file or a backup left beside the database would, and friends
keep arriving. Writes then fail, so nothing is acknowledged: the getUpdates offset stays where it was and Telegram
keeps the updates. The operator sees one line saying so and /healthz answering 503; once the file is deleted the
bot takes every update up again by itself. Afterwards every arrival is recorded once, every message reached its
person once, and SQLite's integrity_check is ok.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import eventually
from crash_feeder import BotProcess, environment, read, register_referrers
from faults import FAST, Received, arrive, fill, free_port, healthz, small_disk, store_said

REFERRERS, BEFORE, DURING = 40, 40, 160  # friends who arrive before the disk is full, and while it is
FULL_FOR = 15.0  # seconds the disk stays full after the bot first fails to write
DISK_MIB = 8
OPEN_SENDS = "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'"


def count(database: Path, sql: str) -> int:
    return int(read(database, sql)[0][0])


def truncate_wal(database: Path) -> None:
    """Checkpoint the write-ahead log into the database and empty it, so the bot's next commit must grow the log
    file: on a full disk it then fails at once, rather than after the log's free space is used up."""
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


@pytest.mark.faults
async def test_a_full_disk_loses_no_update_says_so_once_and_recovers_when_space_returns(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    began, friends = time.monotonic(), BEFORE + DURING
    with small_disk(DISK_MIB) as disk:
        database, http_port = disk / "referrals.db", free_port()
        env = environment(telegram, slack, tmp_path, DATABASE_URL=f"sqlite:///{database}", HTTP_PORT=str(http_port))
        bot = BotProcess(telegram, tmp_path, {**env, **FAST}, tmp_path / "bot.log")
        try:
            await bot.start()
            await bot.wait_polling()
            codes = await register_referrers(telegram, database, REFERRERS, timeout=60)
            await arrive(telegram, codes, 0, BEFORE)
            await eventually(lambda: count(database, "SELECT COUNT(*) FROM referrals") == BEFORE, timeout=60)
            await eventually(lambda: count(database, OPEN_SENDS) == 0, timeout=60)
            assert bot.process is not None
            pid = bot.process.pid
            truncate_wal(database)
            filler = fill(disk)
            await arrive(telegram, codes, BEFORE, DURING)
            await eventually(lambda: "full" in (tmp_path / "bot.log").read_text(), timeout=30)
            full_at = time.monotonic()
            health, confirmed = [], telegram.confirmed_offset
            while time.monotonic() < full_at + FULL_FOR:
                health.append(await healthz(http_port))
                await asyncio.sleep(1.0)
            unconfirmed_while_full, held = telegram.pending_updates(), telegram.confirmed_offset == confirmed
            recorded_while_full = count(database, "SELECT COUNT(*) FROM referrals") - BEFORE
            filler.unlink()
            freed_at = time.monotonic()
            await eventually(lambda: count(database, "SELECT COUNT(*) FROM referrals") == friends, timeout=60)
            await eventually(lambda: telegram.pending_updates() == 0 and count(database, OPEN_SENDS) == 0, 60)
            drained_at = time.monotonic()
            health_after = await healthz(http_port)
            assert bot.process.returncode is None and bot.process.pid == pid, bot.crashed("exited")
            assert await bot.terminate() == 0, bot.crashed("did not stop cleanly on SIGTERM")
        finally:
            await bot.ensure_stopped()
        per_friend = read(database, "SELECT COUNT(*) FROM referrals GROUP BY friend_telegram_id")
        referral_ids = {str(row[0]) for row in read(database, "SELECT id FROM referrals")}
        integrity = read(database, "PRAGMA integrity_check")
    received = Received.count(telegram, slack, friends, REFERRERS)
    log = (tmp_path / "bot.log").read_text(errors="replace")
    said = store_said(log)
    print(
        f"\nfaults/disk full: a {DISK_MIB} MiB tmpfs filled while {DURING} friends arrived; for {FULL_FOR:.0f}s "
        f"{unconfirmed_while_full} updates stayed unconfirmed at Telegram ({recorded_while_full} recorded), "
        f"/healthz {health}, after {health_after}; all recorded and sent {drained_at - freed_at:.1f}s after the "
        f"filler was deleted; log: {len(log.splitlines())} lines, {log.count('Traceback')} tracebacks, {said}; "
        f"integrity_check {integrity}; {time.monotonic() - began:.0f}s in all"
    )
    assert len(per_friend) == friends and {row[0] for row in per_friend} == {1}  # none lost, none twice
    assert not received.problems(friends, referral_ids), received.problems(friends, referral_ids)
    assert integrity == [("ok",)]
    assert unconfirmed_while_full > 0 and held  # Telegram kept them: the offset did not move while the disk was full
    assert set(health) == {503} and health_after == 200, (health, health_after)
    assert said == ["database unavailable", "database available again"], said
    assert "Traceback" not in log and len(log.splitlines()) < 10, log[-2000:]
