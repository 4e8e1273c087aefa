"""Benchmark 7: a viral burst under a campaign, at Telegram's and Slack's production limits (issue 23).

An ask campaign to 10,000 customers is queued the real way, `referral-bot ask --segment customer` beside the
running engine; then 3,000 friends open ONE customer's link over 60 s (real /start deep links through the Telegram
emulator, evenly paced) while the campaign drains. The engine is `referral-bot run`, a process of its own with its
production limits (30 messages a second overall, 1 a second per chat with a burst of 3, 1 post a second per Slack
channel). The emulators enforce the same limits and answer 429 past them, so a 429 is one the bot caused.

The program is the example's, with three changes so that the run measures the burst and nothing else: no quiet
hours (the campaign goes out at any hour), a velocity limit of 10,000 an hour (the burst is welcome, not held for
review) and SLA reminders after 4 hours (none falls inside a run, whatever the hour).

Figures: welcome latency (the friend's /start → the first message in their chat); the referrer's messages (how many
a minute, and whether every friend was named or counted); the alert channel's posts; time from the first message to
the last ÷ the floor (every message at 30 a second); 429s; the engine's peak resident memory.

`python -m bench.bench_crowd [--quick] [--label before|after] [--results DIR]`: --quick runs a tenth of it; the
figures go under `label` in DIR/crowd.json (crowd-quick.json), beside the other label's, with the ratios of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import crowd_figures as figures
from bench.bulk_load import CUSTOMERS_SQL, NOW
from bench.common import ALERTS, PROGRAM, RESULTS, EngineProcess, World, engine_process, world
from bench.crowd_report import record, table
from storage import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_RATE, CHAT_RATE, CHAT_BURST, SLACK_RATE, SLACK_BURST = 30.0, 1.0, 3, 1.0, 3
PRODUCTION = {  # the engine's own limits, as deployed (common.engine_environment lifts the per-chat ones)
    "TELEGRAM_RATE_PER_SECOND": str(TELEGRAM_RATE),
    "TELEGRAM_CHAT_RATE_PER_SECOND": str(CHAT_RATE),
    "TELEGRAM_CHAT_BURST": str(CHAT_BURST),
    "NOTIFICATION_BURST": "3",  # the default
    "SLACK_CHANNEL_RATE_PER_SECOND": str(SLACK_RATE),
    "LOG_LEVEL": "ERROR",
}
PROGRAM_CHANGES = (
    ('quiet_hours = { start = "21:00", end = "09:00" }', 'quiet_hours = { start = "00:00", end = "00:00" }'),
    ("velocity_per_hour = 10\n", "velocity_per_hour = 10000\n"),
    ("claim_within_minutes = 5\n", "claim_within_minutes = 240\n"),
    ("escalate_after_minutes = 15\n", "escalate_after_minutes = 480\n"),
)
REFERRER, REFERRER_CODE = 42, "CrowdRosa042"
FIRST_CUSTOMER, FIRST_FRIEND = 5_000_000, 7_000_000


@dataclass(frozen=True)
class Scale:
    asks: int
    friends: int
    seconds: float

    def deadline(self) -> float:
        """Seconds the run may take before it is cut off: half again the floor of one welcome and one thank-you per
        friend with the campaign, and a minute."""
        return 1.5 * (self.asks + 2 * self.friends) / TELEGRAM_RATE + 60


def bench_program(directory: Path) -> Path:
    text = PROGRAM.read_text(encoding="utf-8")
    for old, new in PROGRAM_CHANGES:
        assert old in text, f"program.example.toml no longer has {old!r}"
        text = text.replace(old, new)
    path = directory / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def customers(w: World, asks: int) -> None:
    """The campaign's customers and the referrer (inner circle: not in the campaign), loaded directly."""
    store = await SQLiteStore.open(str(w.database))
    await store.migrate()
    await store.close()
    at = NOW.isoformat(timespec="microseconds")
    rows = [
        (FIRST_CUSTOMER + n, f"C{n:06d}c", None, None, "en", "customer", f"c{n:011d}", "control", None, at, at)
        for n in range(asks)
    ]
    rows.append((REFERRER, "Rosa", None, None, "en", "inner_circle", REFERRER_CODE, "control", None, at, at))
    with sqlite3.connect(w.database) as db:
        db.executemany(CUSTOMERS_SQL, rows)
    for row in rows:
        w.telegram.user(int(str(row[0])), str(row[1]))


def engine(w: World, program_file: Path) -> AbstractAsyncContextManager[EngineProcess]:
    """`referral-bot run` at production limits (common.engine_process lifts the per-chat ones; these put them back)."""
    return engine_process(w, PRODUCTION | {"PROGRAM_FILE": str(program_file)})


async def campaign(env: dict[str, str]) -> float:
    """`referral-bot ask --segment customer`, as an operator runs it beside the bot: seconds until it returned."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ask", "--segment", "customer", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"referral-bot ask failed: {out.decode()[-1000:]} {err.decode()[-2000:]}")
    return time.monotonic() - started


async def arrivals(w: World, scale: Scale, updates: dict[int, int]) -> dict[int, float]:
    """Friends opening the referrer's link, evenly paced; returns each friend's id with when they pressed Start, and
    fills `updates` with each friend's update id."""
    arrived: dict[int, float] = {}
    started, pace = time.monotonic(), scale.seconds / scale.friends
    for n in range(scale.friends):
        await asyncio.sleep(max(0.0, started + n * pace - time.monotonic()))
        friend = w.telegram.user(FIRST_FRIEND + n, figures.friend_name(n))
        arrived[friend.id] = time.monotonic()
        updates[friend.id] = await w.telegram.open_deep_link(friend, REFERRER_CODE)
    return arrived


def peak_rss_mb(pid: int) -> float | None:
    """The process's high-water resident memory (Linux's VmHWM), read before it stops."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return round(kib / 1024, 1) if kib is not None else None


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"


async def until_settled(w: World, feeding: asyncio.Task[dict[int, float]], deadline: float) -> None:
    """Until every friend has arrived and been read, and no Telegram row is left, or the deadline."""
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        if feeding.done() and not w.telegram.pending_updates() and not figures.left_by_chat(w.database):
            return


async def run(scale: Scale) -> dict[str, Any]:
    async with world() as w:
        program_file = bench_program(w.database.parent)
        await customers(w, scale.asks)
        w.telegram.limit_rate(TELEGRAM_RATE, burst=int(TELEGRAM_RATE))
        w.telegram.limit_chat_rate(CHAT_RATE, burst=CHAT_BURST)
        w.slack.limit_channel_rate(SLACK_RATE, burst=SLACK_BURST)
        loads = [load()]
        async with engine(w, program_file) as running:
            started = time.monotonic()
            asking = await campaign(running.env)
            burst_started = time.monotonic()
            updates: dict[int, int] = {}
            feeding = asyncio.create_task(arrivals(w, scale, updates))
            await until_settled(w, feeding, started + scale.deadline())
            ended = time.monotonic()
            arrived = await feeding
            rss = peak_rss_mb(running.pid)
        loads.append(load())
        return {
            "scale": {"asks": scale.asks, "friends": scale.friends, "over_seconds": scale.seconds},
            "loadavg": {"start": loads[0], "end": loads[1]},
            "campaign_queued_in_s": round(asking, 1),
            "run_seconds": round(ended - started, 1),
            "cut_off": ended - started >= scale.deadline(),
            "campaign": figures.campaign(w.telegram, range(FIRST_CUSTOMER, FIRST_CUSTOMER + scale.asks), burst_started),
            "welcomes": figures.welcomes(w.telegram, arrived, ended),
            "intake": figures.intake(w.telegram, arrived, updates),
            "referrer": figures.referrer(w.telegram, REFERRER, burst_started),
            "slack_alerts": figures.slack(w.slack, ALERTS, w.database),
            "finish": figures.finish(w.telegram, w.database, TELEGRAM_RATE, CHAT_RATE, ended),
            "engine_peak_rss_mb": rss,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_crowd")
    parser.add_argument("--quick", action="store_true", help="a tenth: 1,000 asks, 300 friends over 6 s")
    parser.add_argument("--label", default="after", help="where the figures go in the JSON: before or after")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the directory of crowd.json")
    args = parser.parse_args(argv or [])
    scale = Scale(1_000, 300, 6.0) if args.quick else Scale(10_000, 3_000, 60.0)
    result = asyncio.run(run(scale))
    result["tree"] = str(ROOT)
    path = record(args.results / ("crowd-quick.json" if args.quick else "crowd.json"), args.label, result)
    print(table(args.label, result))
    print(f"crowd: wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
