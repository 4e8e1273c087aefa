"""Benchmark 2: at 50 arrivals/s for about 20 s, the whole engine running against both emulators.

The engine is `referral-bot run`, a process of its own as deployed; the emulators run in this one.
Friends open referrers' links in the Telegram emulator at a steady pace; the engine long-polls getUpdates, writes
each arrival (alert row included) in one durable transaction, and its outbox sends the alert with chat.postMessage to
the Slack emulator. Measured per arrival, from the moment the update was queued in the emulator:
- to its referral row (committed with the alert's outbox row, in one transaction) being visible to a reader that
  polls the database every millisecond from another process, as an operator's client would see it;
- to the Slack emulator receiving the chat.postMessage that names the friend.
Per-channel send limits are lifted, so the figure is the engine's own latency and not Slack's 1 message/s pacing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.common import World, distribution, engine_process, verdict, world, write_result

RATE = 50.0
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


def friend_name(n: int) -> str:
    return f"Friend{n:06d}x"  # unique inside any text, so a message names exactly one friend


class CommitWatch:
    """Another process reading the database every millisecond: when each friend's referral row became visible.
    A process of its own, as an operator's client would be: a thread here would compete with the engine for the
    interpreter lock and add its own waits to the figure. time.monotonic() is one clock for every process."""

    def __init__(self, database: Path) -> None:
        self.seen: dict[int, float] = {}
        context = multiprocessing.get_context("spawn")
        self._stop, self._ready = context.Event(), context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_watch, args=(str(database), self._ready, self._stop, sending), daemon=True
        )

    def __enter__(self) -> CommitWatch:
        self._process.start()
        self._ready.wait(60)  # the new interpreter's start-up is not part of any arrival's figure
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self.seen = self._results.recv()
        self._process.join()


def _watch(database: str, ready: Any, stop: Any, results: Any) -> None:
    db = sqlite3.connect(database)
    seen: dict[int, float] = {}
    last = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM referrals").fetchone()[0]
    ready.set()
    while not stop.is_set():
        rows = db.execute("SELECT rowid, friend_telegram_id FROM referrals WHERE rowid > ?", (last,)).fetchall()
        now = time.monotonic()
        for rowid, friend in rows:
            seen[int(friend)] = now
            last = max(last, rowid)
        time.sleep(0.001)
    db.close()
    results.send(seen)


@asynccontextmanager
async def running_engine(w: World, referrers: int) -> AsyncIterator[list[str]]:
    """The whole engine (`referral-bot run`: Telegram polling, Slack over HTTP, the outbox) in a process of its own,
    with `referrers` customers holding links."""
    async with engine_process(w):
        for n in range(referrers):
            await w.telegram.send_command(w.telegram.user(10_000 + n, f"Referrer{n}"), "start")
        deadline = time.monotonic() + 60
        codes: list[str] = []
        while len(codes) < referrers and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            with sqlite3.connect(w.database) as db:
                codes = [r[0] for r in db.execute("SELECT referral_code FROM customers ORDER BY telegram_id")]
        yield codes


async def feed(w: World, codes: list[str], rate: float, seconds: float, first: int = 0) -> dict[int, float]:
    """Friends arriving at a steady rate; returns each friend's id with when the update was queued."""
    queued: dict[int, float] = {}
    started = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        n = first + i
        friend = w.telegram.user(1_000_000 + n, friend_name(n))
        queued[friend.id] = time.monotonic()
        await w.telegram.open_deep_link(friend, codes[n % len(codes)])
    return queued


def posted(w: World, since: int) -> dict[int, float]:
    """When the Slack emulator received each friend's alert (chat.postMessage), by friend id."""
    seen: dict[int, float] = {}
    for call in w.slack.calls[since:]:
        if call.method == "chat.postMessage" and call.ok:
            text = json.dumps(call.params)
            at = text.find("Friend")
            while at >= 0:
                n = int(text[at + 6 : at + 12]) if text[at + 6 : at + 12].isdigit() else -1
                if n >= 0:
                    seen.setdefault(1_000_000 + n, call.at)
                at = text.find("Friend", at + 1)
    return seen


async def measure() -> dict[str, Any]:
    arrivals = int(RATE * SECONDS)
    async with world() as w, running_engine(w, arrivals // 5 + 1) as codes:
        calls_before = len(w.slack.calls)
        with CommitWatch(w.database) as watch:
            queued = await feed(w, codes, RATE, SECONDS)
            for _ in range(300):  # up to 30 s for the last alerts to go out
                if len(posted(w, calls_before)) >= len(queued):
                    break
                await asyncio.sleep(0.1)
        sent = posted(w, calls_before)
    committed = [watch.seen[f] - t for f, t in queued.items() if f in watch.seen]
    delivered = [sent[f] - t for f, t in queued.items() if f in sent]
    commit_ms, post_ms = distribution(committed), distribution(delivered)
    return {
        "rate_per_second": RATE,
        "seconds": SECONDS,
        "arrivals": len(queued),
        "alert_row_committed_ms": commit_ms,
        "chat_post_message_received_ms": post_ms,
        "missing": {"committed": len(queued) - len(committed), "posted": len(queued) - len(delivered)},
        "targets": {"alert_row_committed_p99_ms": "<= 20", "chat_post_message_p99_ms": "<= 250"},
        "verdict": {
            "alert_row_committed": verdict(commit_ms["p99"], 20, at_most=True),
            "chat_post_message": verdict(post_ms["p99"], 250, at_most=True),
        },
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    figures = asyncio.run(measure())
    write_result("latency", figures)
    print(
        f"latency at {RATE:.0f}/s: alert row committed p99 {figures['alert_row_committed_ms']['p99']} ms; "
        f"chat.postMessage received p99 {figures['chat_post_message_received_ms']['p99']} ms"
    )


if __name__ == "__main__":
    main()
