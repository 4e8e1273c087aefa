"""Crash: `referral-bot run` as a real process against the emulators, killed with SIGKILL 25 times while 10,000
friends arrive, and restarted each time. Nothing may be lost, and almost nothing may happen twice.

Telegram keeps every update until a getUpdates offset confirms it, so an arrival the bot had not committed when it
died comes again; the outbox leases what it sends, so a send cut short goes out again when its lease ends.

For experiments: CRASH_ARRIVALS, CRASH_REFERRERS, CRASH_KILLS, and CRASH_SEED (the seed of the kills' random waits;
each run prints its own, so a failure can be retried with the same waits). `pytest -s` shows the measured figures.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import resource
import statistics
import struct
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from crash_feeder import FRIEND_BASE, BotProcess, Census, already_delivered, environment, feed, read, register_referrers

ARRIVALS = int(os.environ.get("CRASH_ARRIVALS", "10000"))
REFERRERS = int(os.environ.get("CRASH_REFERRERS", "500"))
KILLS = int(os.environ.get("CRASH_KILLS", "25"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
FEED_BATCHES, FEED_INTERVAL = 20, 1.0  # the arrivals come in batches during the first kills
LIFE = (0.2, 1.5)  # seconds a restarted bot polls before the next kill takes aim
# OUTBOX_LEASE_SECONDS stays at its default. With one bot per database file, a restarted bot takes the sends its
# predecessor left leased over at start-up; the lease is the limit it must stay inside (checked to the poll).
LEASE, TAKEOVER_MARGIN, SEND_MARGIN = 60.0, 5.0, 10.0
DUPLICATES_ALLOWED = 0.001  # of all posts
WAL_WRITE_LOCK = 120  # offset of the writer's lock byte in the -shm file (SQLite's WALINDEX_LOCK_OFFSET)
BUDGET = 900.0  # the scenario gives up by itself, saying what it saw, well inside CI's limit
# The emulators enforce no rates unless asked to, and the bot's own limits would make 30,000 sends take hours.
FAST = {
    "TELEGRAM_RATE_PER_SECOND": "2000",
    "TELEGRAM_CHAT_RATE_PER_SECOND": "2000",
    "SLACK_CHANNEL_RATE_PER_SECOND": "2000",
}


@dataclass(frozen=True)
class Kill:
    aim: str  # what the kill waited for after its random wait: nothing, an open transaction, a Slack post
    at: float  # seconds since the arrivals began
    write_open: bool  # the bot held SQLite's write lock: a transaction was open
    leased: dict[str, str]  # outbox rows it was sending, and their leases
    delivered: set[tuple[str, str]]  # of those, (platform, id) of the ones already in their chat: sent, not recorded
    unconfirmed: int  # updates committed but not yet confirmed to Telegram: they come again


@dataclass
class Stalled:
    """The rows the last kill left leased: when the restarted bot took each over, and when it was sent."""

    since: datetime
    leases: dict[str, str]
    reclaimed: dict[str, datetime] = field(default_factory=dict)
    sent: dict[str, datetime] = field(default_factory=dict)

    def look(self, database: Path) -> None:
        waiting = [row_id for row_id in self.leases if row_id not in self.sent]
        if not waiting:
            return
        marks = ",".join("?" * len(waiting))
        for row_id, status, lease, sent_at in read(
            database, f"SELECT id, status, lease_until, sent_at FROM outbox WHERE id IN ({marks})", *waiting
        ):
            if lease is not None and lease != self.leases[row_id]:  # leased anew: now + the lease
                self.reclaimed.setdefault(row_id, datetime.fromisoformat(lease) - timedelta(seconds=LEASE))
            if status == "sent":
                self.sent[row_id] = datetime.fromisoformat(sent_at)
                self.reclaimed.setdefault(row_id, self.sent[row_id])  # taken over and sent between two looks

    def seconds(self, moments: dict[str, datetime]) -> float:
        return max(((moment - self.since).total_seconds() for moment in moments.values()), default=0.0)


@dataclass
class Run:
    began: float = 0.0
    kills: list[Kill] = field(default_factory=list)
    startups: list[float] = field(default_factory=list)
    stalled: Stalled | None = None
    last_restart_at: float = 0.0
    drained_at: float = 0.0

    def now(self) -> float:
        return time.monotonic() - self.began


def write_lock_held(database: Path) -> bool:
    """Whether the bot holds SQLite's write lock, asked without taking it: in WAL mode that lock is a POSIX lock on
    byte 120 of the -shm file, and F_GETLK only reports who holds it. (Taking the lock to test it, even for a
    moment, would hold the bot's commits up and lengthen the very window being measured.)"""
    try:
        with open(f"{database}-shm", "rb") as shm:
            probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, WAL_WRITE_LOCK, 1, 0)
            lock_type: int = struct.unpack("hhqqi", fcntl.fcntl(shm.fileno(), fcntl.F_GETLK, probe))[0]
            return lock_type != fcntl.F_UNLCK
    except FileNotFoundError:
        return False


async def until_write_lock_held(database: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if write_lock_held(database):
            return
        await asyncio.sleep(0.002)


async def until_slack_posts(slack: SlackEmulator, database: Path, within: float) -> None:
    first, deadline = len(slack.calls), time.monotonic() + within
    while time.monotonic() < deadline:
        if any(call.method == "chat.postMessage" for call in slack.calls[first:]):
            return
        if not read(database, "SELECT 1 FROM outbox WHERE platform = 'slack' AND status <> 'sent' LIMIT 1"):
            return  # nothing left for Slack to post
        await asyncio.sleep(0.005)


def plan() -> list[str]:
    """Every other kill waits for an open write transaction (mid-commit); most also find sends in flight. The
    first and the last wait for a Slack post and strike within 50ms of it, while the alert or digest is being
    recorded: a kill leaves the alert channel leased for a minute, so only those two can find Slack sending."""
    aims = ["random" if k % 2 == 0 else "commit" for k in range(KILLS)]
    aims[0] = aims[-1] = "slack post"
    return aims


async def take_aim(aim: str, database: Path, slack: SlackEmulator, rng: random.Random) -> None:
    if aim == "commit":
        await until_write_lock_held(database, within=2.0)
    elif aim == "slack post":
        await until_slack_posts(slack, database, within=LEASE + 30)
        await asyncio.sleep(rng.uniform(0.0, 0.05))


def evidence(
    database: Path, telegram: TelegramEmulator, slack: SlackEmulator, aim: str, at: float, write_open: bool
) -> Kill:
    leased = read(database, "SELECT id, platform, chat_id, payload, lease_until FROM outbox WHERE status = 'sending'")
    delivered = already_delivered(telegram, slack, [row[:4] for row in leased])
    inbound = read(database, "SELECT id FROM processed_inbound WHERE id LIKE 'tg:%'")
    unconfirmed = sum(1 for (inbound_id,) in inbound if int(inbound_id[3:]) >= telegram.confirmed_offset)
    return Kill(aim, at, write_open, {row[0]: row[4] for row in leased}, delivered, unconfirmed)


async def chaos(
    bot: BotProcess, telegram: TelegramEmulator, slack: SlackEmulator, database: Path, rng: random.Random, run: Run
) -> None:
    """Each kill comes at a random moment after the bot is up, then waits for what it aims at."""
    for aim in plan():
        run.startups.append(await bot.wait_polling())
        await asyncio.sleep(rng.uniform(*LIFE))
        await take_aim(aim, database, slack, rng)
        write_open = write_lock_held(database)
        await bot.kill()
        run.kills.append(evidence(database, telegram, slack, aim, run.now(), write_open))
        await bot.start()
    run.last_restart_at = run.now()
    run.stalled = Stalled(bot.started_at, run.kills[-1].leased if run.kills else {})


def unfinished(database: Path) -> dict[str, int]:
    return dict(read(database, "SELECT status, COUNT(*) FROM outbox WHERE status <> 'sent' GROUP BY status"))


async def drain(bot: BotProcess, telegram: TelegramEmulator, database: Path, run: Run, deadline: float) -> None:
    """Until every arrival is committed and confirmed, and the outbox has nothing pending or leased."""
    while True:
        referrals = read(database, "SELECT COUNT(*) FROM referrals")[0][0]
        open_rows = {status: n for status, n in unfinished(database).items() if status in ("pending", "sending")}
        if run.stalled is not None:
            run.stalled.look(database)
        if referrals == ARRIVALS and telegram.pending_updates() == 0 and not open_rows:
            return
        assert bot.process is not None and bot.process.returncode is None, bot.crashed("exited while draining")
        seen = f"{referrals} referrals, {telegram.pending_updates()} updates unconfirmed, outbox {open_rows}"
        assert time.monotonic() < deadline, bot.crashed(f"did not drain within {BUDGET}s (seed {SEED}): {seen}")
        await asyncio.sleep(0.25)


@pytest.mark.crash  # `make crash`, which .ci/run runs after `make test`: it takes minutes
async def test_sigkill_loses_nothing_and_repeats_almost_nothing(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    rng, run, database = random.Random(SEED), Run(), tmp_path / "referrals.db"
    print(f"\ncrash: seed {SEED} (CRASH_SEED={SEED} retries the same waits), {ARRIVALS} arrivals, {KILLS} kills")
    bot = BotProcess(telegram, tmp_path, environment(telegram, slack, tmp_path, **FAST), tmp_path / "bot.log")
    deadline = time.monotonic() + BUDGET
    try:
        async with asyncio.timeout(BUDGET + 60):  # a backstop: drain() gives up first, saying what it saw
            await bot.start()
            await bot.wait_polling()
            codes = await register_referrers(telegram, database, REFERRERS, timeout=120)
            run.began = time.monotonic()
            feeding = asyncio.create_task(feed(telegram, codes, ARRIVALS, FEED_BATCHES, FEED_INTERVAL))
            await chaos(bot, telegram, slack, database, rng, run)
            await feeding
            await drain(bot, telegram, database, run, deadline)
            run.drained_at = run.now()
            assert await bot.terminate() == 0, bot.crashed("did not stop cleanly on SIGTERM")
    finally:
        await bot.ensure_stopped()
    census = Census.take(telegram, slack, database, REFERRERS, ARRIVALS)
    report(run, census)
    check(run, census, database)


def duplicates(census: Census) -> dict[str, int]:
    return {
        "alerts": Census.duplicates(census.alerts),
        "friend welcomes": Census.duplicates(census.friend_welcomes),
        "thank-yous": Census.duplicates(census.thanks),
        "referrer welcomes": Census.duplicates(census.referrer_welcomes),
    }


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def report(run: Run, census: Census) -> None:
    kills, doubled, posts = run.kills, duplicates(census), 3 * ARRIVALS + REFERRERS
    unrecorded = Counter(platform for platform, _ in set().union(*(k.delivered for k in kills)))
    print(
        f"crash: {len(kills)} kills survived: {sum(k.write_open for k in kills)} inside a write transaction, "
        f"{sum(bool(k.leased) for k in kills)} with sends in flight, {sum(k.unconfirmed > 0 for k in kills)} with "
        f"committed but unconfirmed updates ({sum(k.unconfirmed for k in kills)} updates delivered again); rows "
        f"found sent but not yet recorded as sent: {dict(unrecorded)}"
    )
    if run.startups:
        print(f"crash: start-up to first poll {statistics.mean(run.startups):.2f}s mean, {max(run.startups):.2f}s max")
    print(
        f"crash: last restart {run.last_restart_at:.1f}s after the first arrival; everything out at "
        f"{run.drained_at:.1f}s ({run.drained_at - run.last_restart_at:.1f}s after the last restart); CPU: bot "
        f"{cpu_seconds(resource.RUSAGE_CHILDREN):.0f}s, emulators and test {cpu_seconds(resource.RUSAGE_SELF):.0f}s"
    )
    print(f"crash: Slack posts {dict(census.slack_posts)}; duplicates {doubled}: {sum(doubled.values())} of {posts}")
    if run.stalled is not None:
        stalled = run.stalled
        print(
            f"crash: {len(stalled.leases)} sends stalled by the last kill: taken over at most "
            f"{stalled.seconds(stalled.reclaimed):.1f}s and sent at most {stalled.seconds(stalled.sent):.1f}s "
            "after the restart"
        )
    print(
        "crash: each kill (aim @s since first arrival: write lock held/rows leased/of them sent/updates unconfirmed): "
        + ", ".join(
            f"{k.aim} @{k.at:.1f}: {int(k.write_open)}/{len(k.leased)}/{len(k.delivered)}/{k.unconfirmed}"
            for k in kills
        )
    )


def check(run: Run, census: Census, database: Path) -> None:
    """Every promise is checked, and all that are broken are reported together."""
    friends, posts = range(ARRIVALS), 3 * ARRIVALS + REFERRERS
    count, distinct = read(database, "SELECT COUNT(*), COUNT(DISTINCT friend_telegram_id) FROM referrals")[0]
    referred = {friend_id for (friend_id,) in read(database, "SELECT friend_telegram_id FROM referrals")}
    doubled, stalled = duplicates(census), run.stalled
    assert stalled is not None, "the kills never finished"
    broken = [
        f"{count} referral rows for {distinct} friends" if (count, distinct) != (ARRIVALS, ARRIVALS) else "",
        "referrals for people who never arrived" if referred != {FRIEND_BASE + i for i in friends} else "",
        f"integrity_check: {read(database, 'PRAGMA integrity_check')}" if not integrity_ok(database) else "",
        f"outbox rows not sent: {unfinished(database)}" if unfinished(database) else "",
        missed("friends never welcomed", Census.missing(census.friend_welcomes, friends)),
        missed("arrivals whose referrer was never thanked", Census.missing(census.thanks, friends)),
        missed("referrals the team never saw", Census.missing(census.alerts, friends)),
        missed("referrers never welcomed", Census.missing(census.referrer_welcomes, range(REFERRERS))),
        missed("messages nobody should have received", census.stray),
        f"duplicates {doubled} of {posts} posts" if sum(doubled.values()) > posts * DUPLICATES_ALLOWED else "",
        "sends stalled by the last kill never went out" if len(stalled.sent) < len(stalled.leases) else "",
        f"sends stalled by the last kill taken over {stalled.seconds(stalled.reclaimed):.1f}s after the restart"
        if stalled.seconds(stalled.reclaimed) > LEASE + TAKEOVER_MARGIN
        else "",
        f"sends stalled by the last kill went out {stalled.seconds(stalled.sent):.1f}s after the restart"
        if stalled.seconds(stalled.sent) > LEASE + SEND_MARGIN
        else "",
    ]
    assert not any(broken), f"seed {SEED}: " + "; ".join(problem for problem in broken if problem)


def integrity_ok(database: Path) -> bool:
    return read(database, "PRAGMA integrity_check") == [("ok",)]


def missed(what: str, which: Sequence[object]) -> str:
    return f"{len(which)} {what} (first: {list(which)[:5]})" if which else ""
