"""Crash: `referral-bot run` as a real process against the emulators, killed with SIGKILL again and again while
10,000 friends arrive, restarted each time. Nothing may be lost, nothing may happen twice that can be helped.

The numbers can be changed for experiments: CRASH_ARRIVALS, CRASH_REFERRERS, CRASH_KILLS and CRASH_SEED (the kill
schedule's seed, printed by every run so that a failure can be replayed with the same one).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from crash_feeder import FRIEND_BASE, BotProcess, Census, environment, friend, read, register_referrers

ARRIVALS = int(os.environ.get("CRASH_ARRIVALS", "10000"))
REFERRERS = int(os.environ.get("CRASH_REFERRERS", "500"))
KILLS = int(os.environ.get("CRASH_KILLS", "25"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
FEED_BATCHES = 20
LEASE = 60.0  # OUTBOX_LEASE_SECONDS left at its default: the reclaim promise is what is measured
RECLAIM_MARGIN = 5.0
BUDGET = 900.0  # the whole scenario; it stops by itself well before CI's limit even when the bot hangs
# The emulators enforce no rates unless asked to; the bot's own limits would make this run for hours.
FAST = {
    "TELEGRAM_RATE_PER_SECOND": "2000",
    "TELEGRAM_CHAT_RATE_PER_SECOND": "2000",
    "SLACK_CHANNEL_RATE_PER_SECOND": "2000",
}


@dataclass
class Kill:
    at: float  # seconds since the arrivals began
    write_open: bool  # a write transaction was open (the bot held SQLite's write lock)
    sending: list[str]  # outbox rows left leased: sends in flight
    unconfirmed: int  # updates committed but not yet confirmed to Telegram: they come again


@dataclass
class Run:
    kills: list[Kill] = field(default_factory=list)
    fed: int = 0
    last_restart: datetime = field(default_factory=lambda: datetime.now(UTC))
    drained_after: float = 0.0


def write_lock_held(database: Path) -> bool:
    """Asks SQLite for the write lock without waiting, and gives it straight back."""
    with closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as probe:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        probe.execute("ROLLBACK")
        return False


async def aim_at_open_transaction(database: Path, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if write_lock_held(database):
            return True
        await asyncio.sleep(0.002)
    return False


def evidence(database: Path, telegram: TelegramEmulator, at: float, write_open: bool) -> Kill:
    sending = [row[0] for row in read(database, "SELECT id FROM outbox WHERE status = 'sending'")]
    inbound = read(database, "SELECT id FROM processed_inbound WHERE id LIKE 'tg:%'")
    unconfirmed = sum(1 for (inbound_id,) in inbound if int(inbound_id[3:]) >= telegram.confirmed_offset)
    return Kill(at, write_open, sending, unconfirmed)


async def feed(telegram: TelegramEmulator, codes: list[str], run: Run, interval: float) -> None:
    """The friends arrive in batches while the bot is being killed; Telegram keeps what is not confirmed."""
    per_batch = -(-ARRIVALS // FEED_BATCHES)
    for start in range(0, ARRIVALS, per_batch):
        for i in range(start, min(start + per_batch, ARRIVALS)):
            await telegram.open_deep_link(friend(telegram, i), codes[i % len(codes)])
            run.fed += 1
        await asyncio.sleep(interval)


async def chaos(bot: BotProcess, telegram: TelegramEmulator, database: Path, rng: random.Random, run: Run) -> None:
    began = time.monotonic()
    for k in range(KILLS):
        await bot.wait_polling()
        await asyncio.sleep(rng.uniform(0.5, 4.0))
        write_open = await aim_at_open_transaction(database, 2.0) if k % 2 else write_lock_held(database)
        await bot.kill()
        run.kills.append(evidence(database, telegram, time.monotonic() - began, write_open))
        await bot.start()
    run.last_restart = bot.started_at


def open_work(database: Path) -> dict[str, int]:
    return dict(read(database, "SELECT status, COUNT(*) FROM outbox WHERE status <> 'sent' GROUP BY status"))


async def drain(bot: BotProcess, telegram: TelegramEmulator, database: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        referrals = read(database, "SELECT COUNT(*) FROM referrals")[0][0]
        waiting = open_work(database)
        if telegram.pending_updates() == 0 and referrals == ARRIVALS and not waiting.get("pending", 0):
            if not waiting.get("sending", 0):
                return
        assert bot.process is not None and bot.process.returncode is None, bot.crashed("exited while draining")
        progress = f"{referrals} referrals, {telegram.pending_updates()} updates unconfirmed, outbox {waiting}"
        assert time.monotonic() < deadline, bot.crashed(f"did not drain within {timeout}s: {progress}")
        await asyncio.sleep(0.5)


def reclaim_seconds(database: Path, rows: list[str], since: datetime) -> list[float]:
    """For each row left leased by the last kill: how long after the restart it went out."""
    marks = ",".join("?" * len(rows))
    found = read(database, f"SELECT status, sent_at FROM outbox WHERE id IN ({marks})", *rows)
    assert all(status == "sent" for status, _ in found), f"stalled rows not sent: {found}"
    return [(datetime.fromisoformat(sent_at) - since).total_seconds() for _, sent_at in found]


async def test_sigkill_loses_nothing_and_repeats_almost_nothing(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    rng, run, database = random.Random(SEED), Run(), tmp_path / "referrals.db"
    print(f"\ncrash: seed {SEED} (CRASH_SEED={SEED} replays this schedule), {ARRIVALS} arrivals, {KILLS} kills")
    bot = BotProcess(telegram, tmp_path, environment(telegram, slack, tmp_path, **FAST), tmp_path / "bot.log")
    try:
        async with asyncio.timeout(BUDGET):
            await bot.start()
            await bot.wait_polling()
            codes = await register_referrers(telegram, database, REFERRERS, timeout=120)
            began = time.monotonic()
            feeding = asyncio.create_task(feed(telegram, codes, run, interval=1.0))
            await chaos(bot, telegram, database, rng, run)
            await feeding
            await drain(bot, telegram, database, timeout=BUDGET)
            run.drained_after = time.monotonic() - began
            assert await bot.terminate() == 0, bot.crashed("did not stop cleanly on SIGTERM")
    finally:
        bot.ensure_stopped()
    report_and_check(telegram, slack, database, run)


def report_and_check(telegram: TelegramEmulator, slack: SlackEmulator, database: Path, run: Run) -> None:
    census = Census.take(telegram, slack, REFERRERS, ARRIVALS)
    stalled = run.kills[-1].sending if run.kills else []
    reclaims = reclaim_seconds(database, stalled, run.last_restart) if stalled else []
    duplicates = {
        "alerts": Census.duplicates(census.alerts),
        "friend welcomes": Census.duplicates(census.friend_welcomes),
        "thank-yous": Census.duplicates(census.thanks),
        "referrer welcomes": Census.duplicates(census.referrer_welcomes),
    }
    posts = 3 * ARRIVALS + REFERRERS
    print(
        f"crash: {len(run.kills)} kills survived ({sum(k.write_open for k in run.kills)} inside a write transaction, "
        f"{sum(bool(k.sending) for k in run.kills)} with sends in flight, "
        f"{sum(k.unconfirmed > 0 for k in run.kills)} with committed but unconfirmed updates); "
        f"drained {run.drained_after:.1f}s after the first arrival"
    )
    print(f"crash: duplicates {duplicates}: {sum(duplicates.values())} of {posts} posts")
    print(f"crash: {len(stalled)} sends stalled by the last kill, reclaimed after at most {max(reclaims, default=0):.1f}s")
    print("crash: kills (s, write open, rows leased, unconfirmed): " + ", ".join(
        f"{k.at:.1f}/{int(k.write_open)}/{len(k.sending)}/{k.unconfirmed}" for k in run.kills
    ))

    friends = range(ARRIVALS)
    count, distinct = read(database, "SELECT COUNT(*), COUNT(DISTINCT friend_telegram_id) FROM referrals")[0]
    referred = {row[0] for row in read(database, "SELECT friend_telegram_id FROM referrals")}
    assert (count, distinct) == (ARRIVALS, ARRIVALS), "a referral was lost or stored twice"
    assert referred == {FRIEND_BASE + i for i in friends}
    assert read(database, "PRAGMA integrity_check") == [("ok",)]
    assert open_work(database) == {}, "outbox rows left pending, sending or dead"
    assert Census.missing(census.friend_welcomes, friends) == []
    assert Census.missing(census.thanks, friends) == []
    assert Census.missing(census.alerts, friends) == []
    assert Census.missing(census.referrer_welcomes, range(REFERRERS)) == []
    assert census.stray == []
    assert sum(duplicates.values()) <= posts * 0.001, f"duplicates {duplicates} of {posts} posts"
    assert all(seconds <= LEASE + RECLAIM_MARGIN for seconds in reclaims), f"reclaimed after {max(reclaims)}s"
