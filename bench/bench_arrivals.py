"""Benchmark 1: referral arrivals/s through `Application.process_update` with our real handlers into SQLite.

Every arrival is a friend opening a referrer's link (`/start <code>`), built by the Telegram emulator exactly as
getUpdates would hand it over and fed straight into the application: no network in the loop. The engine's parts are
not started, so the outbox dispatcher is off and the outbox rows stay queued (they are written, not sent).

In the same run, the floor: A = the same updates through a no-op PTB handler; B = plain sqlite3 writing the rows the
real run wrote (every table's new rows, shared out over the arrivals), one durable transaction per arrival, WAL and
synchronous=FULL on a fresh database with the same schema.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import pstats
import sqlite3
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bench.common import World, program, verdict, world, write_result
from bot.app.wiring import build_engine
from bot.core.clock import SystemClock
from handlers.telegram import TelegramChannel
from handlers.telegram.channel import build_application
from storage import SQLiteStore

ARRIVALS = int(os.environ.get("BENCH_ARRIVALS", "3000"))
WARM_UP = 100
BATCH = 100  # getUpdates' most per call
REFERRERS = (ARRIVALS + WARM_UP) // 5  # five friends each: a viral campaign, under the velocity limit per referrer


async def _feed(channel: TelegramChannel, updates: list[dict[str, Any]]) -> float:
    """Seconds to process the updates as our poller does: in getUpdates batches of 100, each person's in order."""
    parsed = [Update.de_json(data, channel.app.bot) for data in updates]
    started = time.perf_counter()
    for first in range(0, len(parsed), BATCH):
        await channel.process_batch(parsed[first : first + BATCH])
    return time.perf_counter() - started


async def _referrer_codes(world: World, channel: TelegramChannel) -> list[str]:
    starts = []
    for n in range(REFERRERS):
        person = world.telegram.user(10_000 + n, f"Referrer{n}")
        starts.append(world.telegram.update(await world.telegram.send_command(person, "start")))
    await _feed(channel, starts)
    with sqlite3.connect(world.database) as db:
        return [row[0] for row in db.execute("SELECT referral_code FROM customers ORDER BY telegram_id")]


async def _arrivals(world: World, codes: list[str], first: int, count: int) -> list[dict[str, Any]]:
    updates = []
    for n in range(first, first + count):
        friend = world.telegram.user(1_000_000 + n, f"Friend{n}")
        updates.append(world.telegram.update(await world.telegram.open_deep_link(friend, codes[n % len(codes)])))
    return updates


def _high_water(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT COALESCE(MAX(rowid), 0) FROM "{t}"').fetchone()[0] for t in tables}


def _written_since(database: Path, marks: dict[str, int]) -> tuple[list[str], dict[str, list[tuple[Any, ...]]]]:
    """The schema, and every row each table gained after the marks (in the order written)."""
    with sqlite3.connect(database) as db:
        schema = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
        rows = {
            t: db.execute(f'SELECT * FROM "{t}" WHERE rowid > ? ORDER BY rowid', (m,)).fetchall()
            for t, m in marks.items()
        }
    return schema, {t: r for t, r in rows.items() if r}


def floor_b(directory: Path, schema: list[str], rows: dict[str, list[tuple[Any, ...]]], arrivals: int) -> float:
    """Seconds for plain sqlite3 to write the rows, one BEGIN IMMEDIATE ... COMMIT (WAL, FULL) per arrival."""
    path = directory / "floor.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    for statement in schema:
        db.execute(statement)
    inserts = {t: f'INSERT INTO "{t}" VALUES ({", ".join("?" * len(r[0]))})' for t, r in rows.items()}
    shares = [
        [(inserts[t], r[i * len(r) // arrivals : (i + 1) * len(r) // arrivals]) for t, r in rows.items()]
        for i in range(arrivals)
    ]
    started = time.perf_counter()
    for share in shares:
        db.execute("BEGIN IMMEDIATE")
        for sql, batch in share:
            for row in batch:
                db.execute(sql, row)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


async def floor_a(world: World, updates: list[dict[str, Any]]) -> float:
    """Seconds for the same updates through a PTB application whose only handler does nothing."""
    settings = world.settings()
    app = build_application(settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_file_base_url)

    async def nothing(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None

    app.add_handler(TypeHandler(Update, nothing))
    await app.initialize()
    store = await SQLiteStore.open(str(world.database.parent / "floor_a.db"))  # parks nothing: nothing fails
    try:
        channel = TelegramChannel(app, store, SystemClock().now, at_once=SQLiteStore.updates_at_once)
        await _feed(channel, updates[:WARM_UP])
        return await _feed(channel, updates[WARM_UP:])
    finally:
        await store.close()
        await app.shutdown()


async def measure(profile: bool = False) -> dict[str, Any]:
    async with world() as w:
        engine = await build_engine(w.settings(), program())  # parts not started: no poller, no dispatcher
        try:
            channel = engine.part(TelegramChannel)
            codes = await _referrer_codes(w, channel)
            updates = await _arrivals(w, codes, 0, ARRIVALS + WARM_UP)
            await _feed(channel, updates[:WARM_UP])
            marks = _high_water(w.database)
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            cpu = time.process_time()
            real = await _feed(channel, updates[WARM_UP:])
            cpu = time.process_time() - cpu
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(40)
        finally:
            await engine._stack.aclose()  # the engine was never entered, so only its resources are closed
        schema, rows = _written_since(w.database, marks)
        a = await floor_a(w, updates)
        b = floor_b(w.database.parent, schema, rows, ARRIVALS)
    per_arrival, per_a, per_b = real / ARRIVALS, a / ARRIVALS, b / ARRIVALS
    ratio = per_arrival / (per_a + per_b)
    return {
        "arrivals": ARRIVALS,
        "dispatcher": "off (outbox rows written, not sent)",
        "rows_per_arrival": {t: round(len(r) / ARRIVALS, 2) for t, r in rows.items()},
        "arrivals_per_second": round(ARRIVALS / real, 1),
        "ms_per_arrival": round(per_arrival * 1000, 3),
        "cpu_ms_per_arrival": round(cpu / ARRIVALS * 1000, 3),  # this process's CPU: what bounds it on 1 core
        "floor_a_ms_per_update": round(per_a * 1000, 3),
        "floor_b_ms_per_arrival": round(per_b * 1000, 3),
        "ratio_to_floor": round(ratio, 2),
        "targets": {"arrivals_per_second": ">= 2000", "ratio_to_floor": "<= 1.4"},
        "verdict": {
            "arrivals_per_second": verdict(ARRIVALS / real, 2000, at_most=False),
            "ratio_to_floor": verdict(ratio, 1.4, at_most=True),
        },
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    figures = asyncio.run(measure())
    write_result("arrivals", figures)
    print(
        f"arrivals: {figures['arrivals_per_second']}/s, {figures['ms_per_arrival']} ms each "
        f"({figures['cpu_ms_per_arrival']} ms CPU); floor A "
        f"{figures['floor_a_ms_per_update']} ms + B {figures['floor_b_ms_per_arrival']} ms; "
        f"ratio {figures['ratio_to_floor']}"
    )


if __name__ == "__main__":
    if os.environ.get("BENCH_PROFILE"):
        asyncio.run(measure(profile=True))
    else:
        main()
