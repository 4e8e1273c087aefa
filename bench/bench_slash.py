"""Benchmark 5: slash-command acknowledgement latency while 200 arrivals/s are processed.

The whole engine runs against both emulators (`referral-bot run` in its own process, as in bench_latency). While
friends arrive at 200/s, a manager sends `/referrals stats` ten times a second as the Slack emulator does: a signed
HTTP request to the bot's /slack/events.
The figure is the time until bolt's acknowledgement (the HTTP response) reaches the emulator.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from bench.bench_latency import feed, running_engine
from bench.common import ALERTS, MANAGER, World, distribution, verdict, world, write_result

RATE = 200.0
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
COMMANDS_PER_SECOND = 10.0


async def commands(w: World, stop: asyncio.Event) -> tuple[list[float], list[int]]:
    elapsed: list[float] = []
    statuses: list[int] = []
    while not stop.is_set():
        response = await w.slack.slash_command(MANAGER, "/referrals", "stats", channel_id=ALERTS)
        elapsed.append(response.elapsed)
        statuses.append(response.status)
        await asyncio.sleep(1 / COMMANDS_PER_SECOND)
    return elapsed, statuses


async def measure() -> dict[str, Any]:
    async with world() as w, running_engine(w, int(RATE * SECONDS) // 5 + 1) as codes:
        stop = asyncio.Event()
        asker = asyncio.create_task(commands(w, stop))
        queued = await feed(w, codes, RATE, SECONDS)
        stop.set()
        elapsed, statuses = await asker
    acks = distribution(elapsed)
    return {
        "arrival_rate_per_second": RATE,
        "seconds": SECONDS,
        "arrivals_queued": len(queued),
        "commands": len(elapsed),
        "not_acknowledged": sum(1 for s in statuses if s != 200),
        "ack_ms": acks,
        "targets": {"ack_p99_ms": "<= 500"},
        "verdict": {"ack": verdict(acks["p99"], 500, at_most=True)},
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    figures = asyncio.run(measure())
    write_result("slash", figures)
    print(
        f"slash under {RATE:.0f} arrivals/s: ack p99 {figures['ack_ms']['p99']} ms over {figures['commands']} commands"
    )


if __name__ == "__main__":
    main()
