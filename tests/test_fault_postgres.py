"""Fault: PostgreSQL restarted in the middle of 1,000 arrivals by webhook.

`referral-bot run` runs as its own process on a PostgreSQL cluster of the test's own, which is stopped for 10 s
(a clean stop, as `systemctl restart postgresql` makes) and started again while friends keep arriving. Meanwhile
the webhook answers 500, so Telegram delivers each update again, and /healthz answers 503. Afterwards every
arrival is recorded once, every message reaches its person once, and the bot carried on without a restart of
its own.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import eventually
from crash_feeder import REFERRER_BASE, BotProcess, environment
from faults import FAST, Cluster, Received, arrive, free_port, healthz, private_cluster, store_said

ARRIVALS, REFERRERS = 1000, 200  # five friends each: under the program's velocity limit (10 an hour)
OUTAGE = 10.0  # seconds PostgreSQL is away
STOP_AFTER = 300  # arrivals recorded before PostgreSQL is stopped
FEED_BATCH, FEED_INTERVAL = 50, 1.0  # friends keep arriving, 50 a second, across the outage
PUBLIC_HOOK = "https://referrals.example.com/telegram/hook"
SECRET = "a-webhook-secret-for-the-fault-suite"
OPEN_SENDS = "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'"


async def feed(telegram: TelegramEmulator, codes: list[str]) -> None:
    for first in range(0, ARRIVALS, FEED_BATCH):
        await arrive(telegram, codes, first, min(FEED_BATCH, ARRIVALS - first))
        await asyncio.sleep(FEED_INTERVAL)


def count(cluster: Cluster, sql: str) -> int:
    return int(cluster.rows(sql)[0]["n"])


async def referrers(telegram: TelegramEmulator, cluster: Cluster) -> list[str]:
    for j in range(REFERRERS):
        await telegram.send_command(telegram.user(REFERRER_BASE + j, "Referrer", last_name=str(j)), "start")
    await eventually(lambda: count(cluster, "SELECT COUNT(*) AS n FROM customers") == REFERRERS, timeout=60)
    rows = cluster.rows("SELECT referral_code FROM customers ORDER BY telegram_id")
    return [row["referral_code"] for row in rows]


def drained(telegram: TelegramEmulator, cluster: Cluster) -> bool:
    recorded = count(cluster, "SELECT COUNT(*) AS n FROM referrals") == ARRIVALS
    return recorded and telegram.pending_updates() == 0 and count(cluster, OPEN_SENDS) == 0


@pytest.mark.faults
async def test_postgres_restarted_mid_arrivals_loses_nothing_and_the_bot_carries_on(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    began = time.monotonic()
    async with private_cluster() as cluster:
        hook_port, http_port = free_port(), free_port()
        telegram.route_webhook(PUBLIC_HOOK, f"http://127.0.0.1:{hook_port}/telegram/hook")
        env = environment(
            telegram, slack, tmp_path, DATABASE_URL=cluster.url, TELEGRAM_WEBHOOK_URL=PUBLIC_HOOK,
            TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_HOST="127.0.0.1", TELEGRAM_WEBHOOK_PORT=str(hook_port),
            HTTP_PORT=str(http_port), **FAST,
        )  # fmt: skip
        bot = BotProcess(telegram, tmp_path, env, tmp_path / "bot.log")
        try:
            await bot.start()
            await eventually(lambda: any(r.method == "setWebhook" for r in telegram.requests), timeout=60)
            codes = await referrers(telegram, cluster)
            assert bot.process is not None
            pid = bot.process.pid
            feeding = asyncio.create_task(feed(telegram, codes))
            await eventually(lambda: count(cluster, "SELECT COUNT(*) AS n FROM referrals") >= STOP_AFTER, 60)
            stopped_at, recorded_before = time.monotonic(), count(cluster, "SELECT COUNT(*) AS n FROM referrals")
            await cluster.stop()
            health = []
            while time.monotonic() < stopped_at + OUTAGE:
                health.append(await healthz(http_port))
                await asyncio.sleep(1.0)
            await cluster.start()
            restarted_at = time.monotonic()
            await feeding
            await eventually(lambda: drained(telegram, cluster), timeout=120)
            drained_at = time.monotonic()
            health_after = await healthz(http_port)
            assert bot.process is not None and bot.process.returncode is None, bot.crashed("exited")
            assert bot.process.pid == pid
        finally:
            await bot.ensure_stopped()
        per_friend = cluster.rows("SELECT friend_telegram_id, COUNT(*) AS n FROM referrals GROUP BY friend_telegram_id")
        referral_ids = {str(row["id"]) for row in cluster.rows("SELECT id FROM referrals")}
        inbound = count(cluster, "SELECT COUNT(*) AS n FROM processed_inbound")
    received = Received.count(telegram, slack, ARRIVALS, REFERRERS)
    refused = [a for a in telegram.webhook.attempts if a.status == 500]
    log = (tmp_path / "bot.log").read_text(errors="replace")
    print(
        f"\nfaults/postgres: {ARRIVALS} arrivals by webhook; PostgreSQL stopped for {OUTAGE:.0f}s after "
        f"{recorded_before} were recorded; webhook answered 500 to {len(refused)} deliveries (Telegram delivered "
        f"them again); /healthz during the outage {health}, after {health_after}; all recorded and sent "
        f"{drained_at - restarted_at:.1f}s after PostgreSQL was back; {len(log.splitlines())} log lines, "
        f"{log.count('Traceback')} tracebacks, {store_said(log)}; bot pid unchanged; "
        f"{time.monotonic() - began:.0f}s in all"
    )
    assert len(per_friend) == ARRIVALS and {row["n"] for row in per_friend} == {1}  # none lost, none twice
    assert inbound >= ARRIVALS + REFERRERS
    assert not received.problems(ARRIVALS, referral_ids), received.problems(ARRIVALS, referral_ids)
    assert refused, "no update was refused while PostgreSQL was away"
    assert health and set(health) == {503}, health
    assert health_after == 200
    assert store_said(log) == ["database unavailable", "database available again"], store_said(log)
