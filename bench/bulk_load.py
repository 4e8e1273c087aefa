"""A fast bulk loader for the stats benchmark: a migrated database filled with plain sqlite3 executemany,
one transaction per 50,000 rows. The data looks like a year of a busy program: advocates, the friends they
brought (customers too), referrals in every status with the times and assignees their status implies, fired
SLA timers, share events and NPS answers; then the stored durations and report tallies are counted from those
rows by the migrations' own backfill statements.

`python -m bench.bulk_load PATH [REFERRALS]` loads a new database at PATH."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from storage import SQLiteStore
from storage.tally_sql import recount_statements

CHUNK = 50_000
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the FakeClock's default "now"
YEAR = 365 * 24 * 3600
REPS = [f"U0REP{n:02d}" for n in range(1, 21)]
SEGMENTS = ["inner_circle", "customer", "customer", "customer", "past_customer", "partner", "prospect"]
VARIANTS = ["control", "bigger_reward"]
# status → weight; anything older than a week is mostly settled, the last week is mostly still open
SETTLED = {"contacted": 6, "converted": 22, "lost": 55, "rejected": 8, "claimed": 3, "new": 6}
RECENT = {"new": 40, "claimed": 25, "contacted": 20, "converted": 5, "lost": 8, "rejected": 2}
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dario", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena", "Mina"]


def _at(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat(timespec="microseconds")


def _customer(telegram_id: int, rng: random.Random, seconds_ago: float, referred_by: int | None) -> tuple[Any, ...]:
    created = _at(seconds_ago)
    name = rng.choice(FIRST_NAMES)
    segment = rng.choice(SEGMENTS) if referred_by is None else "prospect"
    language = rng.choice(("en", "en", "en", "es", "fa"))
    code = f"{telegram_id:012x}"  # unique; real codes are random, their length is all that matters here
    return (telegram_id, name, None, None, language, segment, code, rng.choice(VARIANTS), referred_by, created, created)


def _statuses(rng: random.Random, recent: bool) -> str:
    weights = RECENT if recent else SETTLED
    return rng.choices(list(weights), list(weights.values()))[0]


def _referral(n: int, rng: random.Random, advocates: int) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """One referral row and, for a link referral, its friend's customer row."""
    ago = rng.random() ** 0.7 * YEAR  # more referrals lately, as a program grows
    status = _statuses(rng, ago < 7 * 86400)
    referrer = 1_000_000 + rng.randrange(advocates) if rng.random() > 0.2 else 1_000_000 + rng.randrange(100)
    friend_id, friend = None, None
    if rng.random() < 0.9:  # most arrive through the link, and become customers themselves
        friend_id = 10_000_000 + n
        friend = _customer(friend_id, rng, ago, referrer)
    claim = ago - rng.uniform(60, 3 * 3600) if status != "new" else None
    contact = claim - rng.uniform(60, 86400) if claim is not None and status not in ("new", "claimed") else None
    end = contact - rng.uniform(3600, 14 * 86400) if contact is not None else None
    times = [_at(max(t, 0)) if t is not None else None for t in (claim, contact)]
    settled = _at(max(end, 0)) if end is not None else None
    row = (
        f"{n:08x}{rng.getrandbits(64):016x}",
        referrer,
        friend_id,
        None if friend_id else rng.choice(FIRST_NAMES),
        "link" if friend_id else "direct",
        "link" if friend_id else "direct",
        status,
        rng.choice(REPS) if status != "new" else None,
        rng.choice(VARIANTS),
        str(rng.randrange(50, 2000)) if status == "converted" else None,
        _at(ago),
        settled or times[1] or times[0] or _at(ago),
        times[0],
        times[1],
        settled if status == "converted" else None,
        settled if status == "lost" else None,
        _at(ago) if status == "rejected" else None,
    )
    return row, friend


CUSTOMERS_SQL = (
    "INSERT INTO customers (telegram_id, first_name, last_name, username, language, segment, referral_code, variant,"
    " referred_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
REFERRALS_SQL = (
    "INSERT INTO referrals (id, referrer_id, friend_telegram_id, friend_name, source, channel, status, assignee,"
    " variant, deal_value, created_at, updated_at, claimed_at, contacted_at, converted_at, lost_at, rejected_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _insert(db: sqlite3.Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
    count = 0
    for chunk in _chunks(rows):
        with db:  # one transaction per chunk
            db.executemany(sql, chunk)
        count += len(chunk)
    return count


def _referrals_and_friends(db: sqlite3.Connection, referrals: int, advocates: int, rng: random.Random) -> list[str]:
    """Referrals and friends go in together, chunk by chunk; returns a sample of referral ids for timers."""
    sample: list[str] = []
    for start in range(0, referrals, CHUNK):
        pairs = [_referral(n, rng, advocates) for n in range(start, min(start + CHUNK, referrals))]
        with db:
            db.executemany(CUSTOMERS_SQL, [friend for _, friend in pairs if friend is not None])
            db.executemany(REFERRALS_SQL, [row for row, _ in pairs])
        sample += [row[0] for row, _ in pairs if row[6] not in ("new", "rejected") and rng.random() < 0.15]
    return sample


def _side_tables(db: sqlite3.Connection, advocates: int, timed: list[str], rng: random.Random) -> None:
    _insert(
        db,
        "INSERT INTO sla_timers (id, referral_id, kind, due_at, status, fired_at, created_at)"
        " VALUES (?, ?, 'nudge', ?, 'fired', ?, ?)",
        ((f"t{i:09d}", ref, _at(1000), _at(1000), _at(2000)) for i, ref in enumerate(timed)),
    )
    shares = (
        (
            f"s{i:09d}",
            1_000_000 + rng.randrange(advocates),
            rng.choice(("link", "inline", "qr")),
            _at(rng.random() * YEAR),
        )
        for i in range(advocates * 5)
    )
    _insert(db, "INSERT INTO share_events (id, customer_id, channel, created_at) VALUES (?, ?, ?, ?)", shares)
    answers = (
        (f"n{i:09d}", 1_000_000 + i, rng.randrange(11), _at(rng.random() * YEAR), _at(rng.random() * YEAR))
        for i in range(advocates // 2)
    )
    _insert(
        db,
        "INSERT INTO nps_answers (id, customer_id, trigger, score, answered_at, created_at)"
        " VALUES (?, ?, 'days_after_join', ?, ?, ?)",
        answers,
    )


async def _migrate(path: Path) -> None:
    store = await SQLiteStore.open(str(path))
    await store.migrate()
    await store.close()


def load(path: Path, referrals: int = 1_000_000, seed: int = 7, say: Callable[[str], None] = print) -> dict[str, int]:
    """A new migrated database at `path` with `referrals` referrals; returns row counts."""
    started = time.perf_counter()
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    advocates = max(100, referrals // 10)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = NORMAL")  # a loader: the benchmark reads with the bot's own settings
    _insert(db, CUSTOMERS_SQL, (_customer(1_000_000 + n, rng, rng.random() * YEAR, None) for n in range(advocates)))
    timed = _referrals_and_friends(db, referrals, advocates, rng)
    say(f"loaded {referrals:,} referrals in {time.perf_counter() - started:.1f} s")
    _side_tables(db, advocates, timed, rng)
    with db:  # the rows went in directly, so the report tallies are counted from them, as an upgrade would
        for statement in recount_statements("sqlite"):
            db.execute(statement)
    say(f"counted the report tallies by {time.perf_counter() - started:.1f} s")
    counts = {
        t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("customers", "referrals", "sla_timers")
    }
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    say(f"bulk load done in {time.perf_counter() - started:.1f} s: {counts}")
    return counts


if __name__ == "__main__":
    load(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
