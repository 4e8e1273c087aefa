"""Benchmark: referral arrivals/s on PostgreSQL with one and with two `referral-bot run` instances.

The topology of a business that outgrew one machine: Telegram delivers updates by webhook (the emulator, up to
40 requests in flight, as Telegram does) through a round-robin load balancer to the instances, each a real
process on one PostgreSQL database, with Slack in HTTP mode. An arrival counts once its referral row is
committed (the instance answered the webhook 200 only then); the welcomes, thank-yous and alerts are sent at the
same time, as they would be. Everything (emulators, balancer, instances, PostgreSQL) shares this machine's cores,
so two instances compete with each other for the same CPU: the figure says what a second process buys here,
not what a second machine would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import World, engine_environment, free_port, world, write_result
from sandbox.load_balancer import LoadBalancer

SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ARRIVALS = int(os.environ.get("BENCH_PG_ARRIVALS", "2000"))
REFERRERS = ARRIVALS // 5 + 1  # five friends each, under the velocity limit
HOOK = "https://referrals.example.com/telegram/hook"
SECRET = "bench-webhook-secret-0123456789"


def _environment(w: World, url: str, hook_port: int, slack_port: int) -> dict[str, str]:
    return engine_environment(w, url, slack_port) | {
        "TELEGRAM_WEBHOOK_URL": HOOK,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_HOST": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(hook_port),
        # Per-chat limits as deployed: this benchmark counts arrivals, not how fast a chat is written to.
        "TELEGRAM_CHAT_RATE_PER_SECOND": "1",
        "TELEGRAM_CHAT_BURST": "3",
        "NOTIFICATION_BURST": "3",
        "SLACK_CHANNEL_RATE_PER_SECOND": "1",
    }


@asynccontextmanager
async def _schema() -> AsyncIterator[str]:
    name = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f"CREATE SCHEMA {name}")  # a generated identifier
    try:
        yield f"{SERVER}?search_path={name}"
    finally:
        await admin.execute(f"DROP SCHEMA {name} CASCADE")
        await admin.close()


async def _count(url: str, sql: str) -> int:
    db = await asyncpg.connect(url)
    try:
        return int(await db.fetchval(sql))
    finally:
        await db.close()


async def _wait_for(url: str, sql: str, wanted: int, limit: float) -> float:
    """Seconds until the count reaches `wanted`, polled every 10 ms on one connection."""
    db = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        while int(await db.fetchval(sql)) < wanted:
            if time.perf_counter() - started > limit:
                raise TimeoutError(f"{sql}: not {wanted} after {limit}s")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        await db.close()


async def _instances(w: World, url: str, count: int, stack: AsyncExitStack, logs: Path) -> None:
    hooks = await stack.enter_async_context(LoadBalancer())
    events = await stack.enter_async_context(LoadBalancer())
    for n in range(count):
        hook_port, slack_port = free_port(), free_port()
        hooks.add(f"http://127.0.0.1:{hook_port}")
        events.add(f"http://127.0.0.1:{slack_port}")
        log = (logs / f"instance{n}.log").open("wb")
        stack.callback(log.close)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=_environment(w, url, hook_port, slack_port), stdout=log, stderr=log
        )
        stack.push_async_callback(_stop, process)
    w.telegram.route_webhook(HOOK, f"{hooks.url}/telegram/hook")
    w.slack.bot_endpoint = f"{events.url}/slack/events"
    deadline = time.monotonic() + 60
    while sum(r.method == "setWebhook" for r in w.telegram.requests) < count:
        assert time.monotonic() < deadline, f"the instances did not start; see {logs}"
        await asyncio.sleep(0.05)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=60)


async def measure(instances: int) -> dict[str, Any]:
    async with world() as w, _schema() as url, AsyncExitStack() as stack:
        await _instances(w, url, instances, stack, w.database.parent)
        for n in range(REFERRERS):
            await w.telegram.send_command(w.telegram.user(10_000 + n, f"Referrer{n}"), "start")
        await _wait_for(url, "SELECT COUNT(*) FROM customers", REFERRERS, 120)
        codes = [row[0] for row in await _codes(url)]
        started = time.perf_counter()
        for n in range(ARRIVALS):
            await w.telegram.open_deep_link(w.telegram.user(1_000_000 + n, f"Friend{n}"), codes[n % len(codes)])
        queued = time.perf_counter() - started
        await _wait_for(url, "SELECT COUNT(*) FROM referrals", ARRIVALS, 600)
        elapsed = time.perf_counter() - started
        twice = await _count(url, "SELECT COUNT(*) - COUNT(DISTINCT friend_telegram_id) FROM referrals")
    return {
        "instances": instances,
        "arrivals": ARRIVALS,
        "arrivals_per_second": round(ARRIVALS / elapsed, 1),
        "seconds": round(elapsed, 2),
        "seconds_to_queue_in_emulator": round(queued, 2),
        "referrals_recorded_twice": twice,
    }


async def _codes(url: str) -> list[Any]:
    db = await asyncpg.connect(url)
    try:
        return list(await db.fetch("SELECT referral_code FROM customers ORDER BY telegram_id"))
    finally:
        await db.close()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    one = asyncio.run(measure(1))
    two = asyncio.run(measure(2))
    figures = {
        "one_instance": one,
        "two_instances": two,
        "two_over_one": round(two["arrivals_per_second"] / one["arrivals_per_second"], 2),
        "note": "2 cores shared by PostgreSQL, the emulators, the balancer and every instance",
    }
    write_result("postgres", figures)
    print(
        f"postgres: one instance {one['arrivals_per_second']}/s, two {two['arrivals_per_second']}/s "
        f"(x{figures['two_over_one']}); recorded twice: {one['referrals_recorded_twice']}, "
        f"{two['referrals_recorded_twice']}"
    )


if __name__ == "__main__":
    main()
