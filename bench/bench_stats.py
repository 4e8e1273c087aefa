"""Benchmark 4: `/referrals stats all`, `stats` (30 days), `top` and `pending` over 1,000,000 referrals, the
charts of a year (`/referrals stats chart 52w`: both read and drawn, the upload aside), and the process's memory.

The database is filled by bench/bulk_load.py in a child process, so this process's resident memory is only
what answering the commands costs. Each command goes through the slash command's own code (SlashCommands,
bot/reports/stats.py and the template rendering), timed over a few runs after one warm-up run.

`python -m bench.bench_stats [--quick] [--keep PATH]`: --quick loads 100,000 referrals; --keep reuses (or
leaves) the database at PATH."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bulk_load import NOW
from bench.common import distribution, verdict, write_result
from bot.core.clock import FakeClock
from bot.core.links import Links
from bot.program.rules import load_program
from bot.program.texts import Texts
from bot.reports.chart_data import chart_figures
from bot.reports.charts import parse_chart_period, render_charts
from handlers.slack.commands import SlashCommands
from messages import Renderer
from storage import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
TARGETED = ("stats all", "stats", "top", "pending")  # `stats` alone: the last 30 days
COMMANDS = (*TARGETED, "reps all")  # reps has no target of its own: measured so a regression shows
RUNS = 10
MANAGER = "U0MAYA"
TARGET_MS, TARGET_MB = 300.0, 200.0
CHART_PERIOD, CHART_TARGET_MS = "52w", 1000.0  # a year of weeks; both charts together within the target of one


def memory_mb() -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: round(int(fields[name].split()[0]) / 1024, 1) for key, name in (("now", "VmRSS"), ("peak", "VmHWM"))}


def commands(store: SQLiteStore) -> SlashCommands:
    program = load_program(ROOT / "program.example.toml")
    screens = Texts(Renderer(None), program, Links("AcmeReferralBot"))
    return SlashCommands(store, screens, FakeClock(NOW))


async def answer(slash: SlashCommands, text: str) -> str:
    """One command as Slack delivers it; the text the manager reads."""
    said: list[str] = []

    async def ack(*_: Any, **__: Any) -> None:
        return None

    async def respond(text: str, **_: Any) -> None:
        said.append(text)

    command = {"text": text, "user_id": MANAGER, "command": "/referrals"}
    context = {"manager": True}  # what the manager guard leaves for a manager
    await slash.referrals(ack, command, context, respond, None)  # type: ignore[arg-type]
    return said[0]


async def charts(store: SQLiteStore) -> dict[str, Any]:
    """Both charts of a year as `/referrals stats chart 52w` renders them (the upload aside): the figures read from
    the tallies, worded and drawn to PNG; and the reading alone."""
    program, renderer = load_program(ROOT / "program.example.toml"), Renderer(None)
    period = parse_chart_period(CHART_PERIOD, NOW)
    assert period is not None
    first = await render_charts(store, program, renderer, "en", NOW, period)  # warm-up: matplotlib's import
    reads, both = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        await chart_figures(store, period, program.program.currency)
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        await render_charts(store, program, renderer, "en", NOW, period)
        both.append(time.perf_counter() - started)
    return {
        "period": CHART_PERIOD,
        "ms": distribution(both),
        "read_ms": distribution(reads),
        "png_kb": [len(chart.png) // 1024 for chart in first],
        "alt": [chart.alt for chart in first],
    }


async def measure(path: Path) -> tuple[dict[str, Any], dict[str, float], dict[str, Any]]:
    """The commands' figures, the memory they took, and then the charts' (drawn last: matplotlib's own memory is
    no part of what the commands cost)."""
    store = await SQLiteStore.open(str(path))
    try:
        figures: dict[str, Any] = {}
        slash = commands(store)
        for text in COMMANDS:
            first = await answer(slash, text)  # warm-up: the first run also reads the pages from disk
            samples = []
            for _ in range(RUNS):
                started = time.perf_counter()
                await answer(slash, text)
                samples.append(time.perf_counter() - started)
            figures[text] = {"ms": distribution(samples), "answer_starts": first.splitlines()[:3]}
        memory = memory_mb()
        return figures, memory, await charts(store)
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_stats")
    parser.add_argument("--quick", action="store_true", help="100,000 referrals instead of 1,000,000")
    parser.add_argument("--keep", type=Path, help="database to reuse, or to load and leave behind")
    args = parser.parse_args(argv or [])
    referrals = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory() as workdir:
        path = args.keep or Path(workdir) / "stats.db"
        started, load_seconds = time.perf_counter(), None
        if not path.exists():
            subprocess.run([sys.executable, "-m", "bench.bulk_load", str(path), str(referrals)], check=True, cwd=ROOT)
            load_seconds = round(time.perf_counter() - started, 1)
        before = memory_mb()
        figures, memory, drawn = asyncio.run(measure(path))
        size_mb = round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
    drawn["resident_mb_after"] = memory_mb()["now"]
    worst = max(figures[text]["ms"]["p99"] for text in TARGETED)
    result = {
        "referrals": referrals,
        "runs_per_command": RUNS,
        "load_seconds": load_seconds,  # None: a database loaded before
        "database_mb": size_mb,
        "commands": figures,
        "charts": drawn,
        "resident_mb": {"before_queries": before["now"], "after": memory["now"], "peak": memory["peak"]},
        "targets": {"p99_ms": TARGET_MS, "resident_mb": TARGET_MB, "charts_p99_ms": CHART_TARGET_MS},
        "verdict": {
            "latency": verdict(worst, TARGET_MS, at_most=True),
            "charts": verdict(drawn["ms"]["p99"], CHART_TARGET_MS, at_most=True),
            "memory": verdict(memory["peak"], TARGET_MB, at_most=True),
        },
    }
    write_result("stats" if not args.quick else "stats-quick", result)
    for text, figure in figures.items():
        print(f"/referrals {text}: p50 {figure['ms']['p50']} ms, p99 {figure['ms']['p99']} ms")
    print(f"both charts of {CHART_PERIOD}: p50 {drawn['ms']['p50']} ms, p99 {drawn['ms']['p99']} ms")
    print(f"resident memory: peak {memory['peak']} MB; database {size_mb} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
