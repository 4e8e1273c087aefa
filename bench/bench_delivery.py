"""Benchmark 3: 5,000 Telegram messages to distinct chats and 300 new-referral alerts to one Slack channel,
queued at once, drained by the real outbox through python-telegram-bot and slack-sdk.

Both emulators enforce the configured limits themselves (Telegram 30 messages a second overall, Slack one
post a second per channel, each with a burst allowance) and answer 429 past them, so a 429 here is one the
bot caused. Figures: achieved send rate ÷ configured limit while each backlog lasted, 429s, and the digests
the 300 alerts were merged into.

`python -m bench.bench_delivery [--quick]`: --quick queues a tenth of it."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bulk_load import CUSTOMERS_SQL, NOW, REFERRALS_SQL
from bench.common import verdict, write_result
from bot.app.demo import TOKEN, emulator_settings
from bot.app.wiring import build_engine
from bot.core.clock import SystemClock
from bot.core.models import Outgoing
from bot.program.rules import load_program
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
ALERTS, MANAGER, REP = "C0REFERRALS", "U0MAYA", "U0RITA"
TELEGRAM_RATE, SLACK_RATE = 30.0, 1.0
FIRST_CHAT = 5_000_000
TARGET_RATIO = 0.95


async def queue(path: Path, messages: int, alerts: int) -> None:
    """All rows in one transaction, as a campaign or a burst of arrivals leaves them: each alert's referral
    and its referrer exist, and every Telegram chat has talked to the bot."""
    store = await SQLiteStore.open(str(path))
    await store.migrate()
    await store.close()
    at = NOW.isoformat(timespec="microseconds")
    with sqlite3.connect(path) as db:
        db.execute(CUSTOMERS_SQL, (42, "Ana", None, None, "en", "customer", "benchcode0001", "control", None, at, at))
        referrals = [
            (f"bench{n:05d}", 42, None, f"Friend {n}", "direct", "direct", "new", None, "control", None, at, at)
            + (None,) * 5
            for n in range(alerts)
        ]
        db.executemany(REFERRALS_SQL, referrals)
    store = await SQLiteStore.open(str(path))
    async with store.transaction() as tx:
        now = SystemClock().now()
        for n in range(messages):
            text = f"Thanks for being with us, customer {n}! Your friends get 20% off with your link."
            payload = Outgoing(FIRST_CHAT + n, text).to_payload()
            await tx.enqueue("telegram", str(FIRST_CHAT + n), payload, f"bench:tg:{n}", now)
        for row in referrals:
            await tx.enqueue("slack", ALERTS, {"kind": "alert", "referral_id": row[0]}, f"alert:{row[0]}", now)
    await store.close()


def rate(times: list[float]) -> float:
    """Sends a second between the first and the last."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


def pending(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").fetchone()[0])


async def drain(path: Path, telegram: TelegramEmulator, slack: SlackEmulator, limit: float) -> float:
    settings = emulator_settings(
        telegram, path, slack_bot_token="xoxb-bench", slack_api_url=slack.api_url,
        slack_signing_secret="bench-secret", slack_http_host="127.0.0.1", slack_http_port=0,
        slack_alert_channel=ALERTS, slack_manager_ids=MANAGER, telegram_rate_per_second=TELEGRAM_RATE,
        slack_channel_rate_per_second=SLACK_RATE,
    )  # fmt: skip
    started = time.monotonic()
    async with await build_engine(settings, load_program(ROOT / "program.example.toml"), SystemClock()) as engine:
        slack.bot_endpoint = f"http://127.0.0.1:{engine.part(SlackChannel).port}/slack/events"
        while pending(path) and time.monotonic() - started < limit:  # noqa: ASYNC110 (rows left, as an operator sees)
            await asyncio.sleep(0.5)
    return time.monotonic() - started


def figures(path: Path, telegram: TelegramEmulator, slack: SlackEmulator, seconds: float) -> dict[str, Any]:
    tg = [r for r in telegram.requests if r.method.lower() == "sendmessage"]
    tg_ok = sorted(r.at for r in tg if r.status == 200)
    posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    posts_ok = sorted(c.at for c in posts if c.status == 200)
    with sqlite3.connect(path) as db:
        merged = db.execute("SELECT digest, COUNT(DISTINCT ts), COUNT(*) FROM slack_alerts GROUP BY digest").fetchall()
    shown = {bool(digest): (messages, referrals) for digest, messages, referrals in merged}
    tg_ratio, slack_ratio = rate(tg_ok) / TELEGRAM_RATE, rate(posts_ok) / SLACK_RATE
    return {
        "drain_seconds": round(seconds, 1),
        "left_unsent": pending(path),
        "telegram": {
            "limit_per_second": TELEGRAM_RATE,
            "sent": len(tg_ok),
            "achieved_per_second": round(rate(tg_ok), 2),
            "ratio": round(tg_ratio, 3),
            "answered_429": sum(1 for r in tg if r.status == 429),
        },
        "slack": {
            "limit_per_second_per_channel": SLACK_RATE,
            "posts": len(posts_ok),
            "achieved_per_second": round(rate(posts_ok), 3),
            "ratio": round(slack_ratio, 3),
            "answered_429": sum(1 for c in posts if c.status == 429),
            "digests": shown.get(True, (0, 0))[0],
            "alerts_in_digests": shown.get(True, (0, 0))[1],
            "alerts_posted_singly": shown.get(False, (0, 0))[1],
        },
    }


async def run(messages: int, alerts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "delivery.db"
        async with (
            TelegramEmulator(token=TOKEN, bot_username="AcmeReferralBot", bot_name="Acme Referrals") as telegram,
            SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-secret") as slack,
        ):
            for user, name in ((MANAGER, "maya"), (REP, "rita")):
                slack.add_user(user, name, real_name=name.title())
            slack.add_channel(ALERTS, "referrals", members={MANAGER, REP})
            for n in range(messages):
                telegram.user(FIRST_CHAT + n, f"Customer {n}")
            telegram.limit_rate(TELEGRAM_RATE, burst=int(TELEGRAM_RATE))
            slack.limit_channel_rate(SLACK_RATE, burst=3)
            await queue(path, messages, alerts)
            seconds = await drain(path, telegram, slack, limit=messages / TELEGRAM_RATE * 2 + 60)
            return figures(path, telegram, slack, seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_delivery")
    parser.add_argument("--quick", action="store_true", help="500 messages and 300 alerts instead of 5,000 and 300")
    args = parser.parse_args(argv or [])
    messages, alerts = (500, 300) if args.quick else (5_000, 300)
    result = asyncio.run(run(messages, alerts))
    tg, sl = result["telegram"], result["slack"]
    worst = min(tg["ratio"], sl["ratio"])
    result["queued"] = {"telegram_messages": messages, "slack_alerts": alerts}
    result["targets"] = {"ratio": TARGET_RATIO, "answered_429": 0, "digests": "on"}
    result["verdict"] = {
        "ratio": verdict(worst, TARGET_RATIO, at_most=False),
        "429s": verdict(tg["answered_429"] + sl["answered_429"], 0, at_most=True),
        "digests": "met" if sl["digests"] > 0 else "missed",
    }
    write_result("delivery" if not args.quick else "delivery-quick", result)
    print(
        f"telegram: {tg['sent']} sent at {tg['achieved_per_second']}/s = {tg['ratio']} of the limit, "
        f"{tg['answered_429']} 429s"
    )
    print(
        f"slack: {sl['posts']} posts at {sl['achieved_per_second']}/s = {sl['ratio']} of the limit, "
        f"{sl['answered_429']} 429s, {sl['digests']} digests holding {sl['alerts_in_digests']} alerts"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
