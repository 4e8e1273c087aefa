"""The crowd benchmark's results: its JSON file, with the code before and after side by side, and its table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import machine_facts, percentile, verdict

LABELS = ("before", "after")
TARGETS = {
    "welcome_p99_s": 2.0,
    "referrer_most_in_any_minute": 1,
    "alerts_most_in_any_10_seconds": 11,  # one a second, and one more for a window's two ends
    "finish_ratio": 1.1,
    "answered_429": 0,
}


def welcome_floor(friends: int, seconds: float, rate: float = 30.0, burst: int = 30) -> dict[str, float]:
    """The least each friend could wait for the welcome if welcomes had Telegram's whole overall rate to themselves,
    friends arriving evenly: past `rate` arrivals a second, the welcomes queue whatever the bot does."""
    waits, tokens, last = [], float(burst), 0.0
    for n in range(friends):
        arrived = n * seconds / friends
        at = max(arrived, last)
        tokens = min(float(burst), tokens + (at - last) * rate)
        if tokens < 1:
            at, tokens = at + (1 - tokens) / rate, 1.0
        tokens, last = tokens - 1, at
        waits.append(at - arrived)
    return {"p50": round(percentile(waits, 50), 3), "p99": round(percentile(waits, 99), 3)}


def headline(run: dict[str, Any]) -> dict[str, Any]:
    """The figures the issue sets targets for, flat."""
    welcomes, referrer, alerts, finish = run["welcomes"], run["referrer"], run["slack_alerts"], run["finish"]
    return {
        "welcome_p50_s": welcomes["latency_s"]["p50"],
        "welcome_p99_s": welcomes["latency_s"]["p99"],
        "welcome_floor_p99_s": welcome_floor(run["scale"]["friends"], run["scale"]["over_seconds"])["p99"],
        "referrer_messages": referrer["messages"],
        "referrer_most_in_any_minute": referrer["most_in_any_minute"],
        "friends_named_or_counted": referrer["friends_named_or_counted"],
        "alert_posts": alerts["posts"],
        "alerts_most_in_any_10_seconds": alerts["most_in_any_10_seconds"],
        "finish_ratio": finish["ratio"],
        "finish_seconds": finish["seconds"],
        "answered_429": finish["answered_429"] + alerts["answered_429"],
        "engine_peak_rss_mb": run["engine_peak_rss_mb"],
    }


def verdicts(run: dict[str, Any]) -> dict[str, str]:
    figures = headline(run)
    checks = {key: verdict(figures[key], target, at_most=True) for key, target in TARGETS.items()}
    everyone = figures["friends_named_or_counted"] >= run["welcomes"]["friends"]
    checks["every_friend_named_or_counted"] = "met" if everyone else "missed"
    if run["welcomes"]["lower_bound"]:
        checks["welcome_p99_s"] = "missed"  # some friends were never welcomed within the run
    return checks


def ratios(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """after ÷ before for each headline figure (below 1: the new code is lower)."""
    old, new = headline(before), headline(after)
    return {key: round(new[key] / old[key], 3) if old[key] else None for key in old if new[key] is not None}


def record(path: Path, label: str, run: dict[str, Any]) -> Path:
    """Put this run under `label` in the file, keeping the other label's run, and the ratios when both are there."""
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    body = {"benchmark": path.stem} | {key: body[key] for key in LABELS if key in body and key != label}
    derived = {"headline": headline(run), "targets": TARGETS, "verdict": verdicts(run)}
    run = {"machine": machine_facts()} | run | derived  # a run recorded again keeps the facts of when it ran
    body[label] = run
    if all(key in body for key in LABELS):
        body["after_over_before"] = ratios(body["before"], body["after"])
    body = {"benchmark": body["benchmark"]} | {k: body[k] for k in (*LABELS, "after_over_before") if k in body}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def table(label: str, run: dict[str, Any]) -> str:
    figures, checks = headline(run), verdicts(run)
    rows = [
        ("welcome latency p50 / p99", f"{figures['welcome_p50_s']} s / {figures['welcome_p99_s']} s (floor at 30/s:"
         f" p99 {figures['welcome_floor_p99_s']} s)", "p99 ≤ 2 s"),
        ("friends welcomed", f"{run['welcomes']['welcomed']} of {run['welcomes']['friends']}", "all"),
        ("referrer's messages", f"{figures['referrer_messages']}, at most {figures['referrer_most_in_any_minute']}"
         " in a minute", "≤ 1 a minute"),
        ("friends named or counted", f"{figures['friends_named_or_counted']} of {run['welcomes']['friends']}", "all"),
        ("alert channel posts", f"{figures['alert_posts']}, at most {figures['alerts_most_in_any_10_seconds']} in"
         f" 10 s, {run['slack_alerts']['digests']} digests", "digests, ≤ 1 a second"),
        ("finish ÷ floor", f"{figures['finish_ratio']} ({figures['finish_seconds']} s"
         f"{' estimated' if run['finish']['estimated'] else ''} ÷ {run['finish']['floor_seconds']} s)", "≤ 1.1"),
        ("429s caused by the bot", str(figures["answered_429"]), "0"),
        ("engine peak RSS", f"{figures['engine_peak_rss_mb']} MB", "measured"),
    ]  # fmt: skip
    if "campaign" in run:  # the burst met the campaign: its last ask left after the first friend arrived
        ask = run["campaign"]
        rows.insert(0, ("campaign", f"{ask['asks_sent']} asks, the last {ask['last_ask_after_first_arrival_s']} s"
                        " after the first friend arrived", "running during the burst"))  # fmt: skip
    if "intake" in run:  # how much of a welcome's wait was the engine reading the /start, and not the outbox
        stored = run["intake"]["latency_s"]
        rows.insert(2, ("  of which /start → stored", f"p50 {stored['p50']} s / p99 {stored['p99']} s", "measured"))
    width = max(len(row[0]) for row in rows)
    lines = [f"crowd ({label}; load {run['loadavg']['start']} → {run['loadavg']['end']})"]
    lines += [f"  {name:<{width}}  {value}  [target {target}]" for name, value, target in rows]
    lines.append("  verdict: " + ", ".join(f"{key} {value}" for key, value in checks.items()))
    return "\n".join(lines)
