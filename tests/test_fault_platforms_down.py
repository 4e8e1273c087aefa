"""Fault: Telegram and Slack both unreachable, while the CRM goes on converting deals.

`referral-bot run` runs as its own process (polling Telegram, Slack in Socket Mode). Friends arrive and the team
claims them; then both emulators stop listening, as the platforms' servers do in an outage, and the CRM converts
every referral meanwhile, which queues a message to each friend and referrer and an update of each alert card.
Those sends wait: the bot keeps trying each platform at a growing interval, up to OUTBOX_OUTAGE_BACKOFF_SECONDS, and
uses almost no CPU meanwhile. When the platforms come back every send goes out, once, within that interval.

A 5-minute outage with the default ceiling (60 s) makes the test take 5½ minutes, too long for every run of
`make test` (which would grow by two thirds). So the test shortens both, to a 40 s outage and a 5 s ceiling (about
50 s in all), and keeps what matters about the 5 minutes: the bot reaches its ceiling early (after 1 + 2 + 4 s here,
after 63 s for real) and spends most of the outage trying once per ceiling, which is where a busy loop or a dropped
message would show. FAULT_OUTAGE_SECONDS=300 FAULT_BACKOFF_SECONDS=60 runs the real thing.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, eventually
from crash_feeder import FRIEND_BASE, REFERRER_BASE, BotProcess, environment, read, register_referrers
from faults import FAST, arrive, cpu_seconds, free_port

OUTAGE = float(os.environ.get("FAULT_OUTAGE_SECONDS", "40"))
BACKOFF = os.environ.get("FAULT_BACKOFF_SECONDS", "5")  # the bot's OUTBOX_OUTAGE_BACKOFF_SECONDS
REFERRERS, FRIENDS = 10, 40  # four friends each: under the program's velocity limit
CPU_LIMIT = 0.10  # of one core, while the platforms are away
TOKEN = "crm-token-for-the-fault-suite"
OPEN_SENDS = "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'"
_GREAT_NEWS = re.compile(r"🎉 Great news, Referrer! Friend (\d+) has become")


def count(database: Path, sql: str) -> int:
    return int(read(database, sql)[0][0])


async def claim_every_alert(slack: SlackEmulator, database: Path) -> None:
    await slack.wait_for(lambda: len(slack.messages(ALERTS)) == FRIENDS, timeout=60, what="every alert")
    for alert in slack.messages(ALERTS):
        await slack.click(RITA, alert, "referral_claim")
    await eventually(lambda: count(database, "SELECT COUNT(*) FROM referrals WHERE status = 'claimed'") == FRIENDS)


async def convert_all(port: int, referral_ids: list[str]) -> list[int]:
    """The CRM marks every referral converted: each call is answered at once, as nothing waits for a platform."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        statuses = []
        for referral_id in referral_ids:
            url = f"http://127.0.0.1:{port}/api/referrals/{referral_id}/convert"
            async with session.post(url, json={"deal_value": "120"}, headers=headers) as response:
                statuses.append(response.status)
        return statuses


async def within(check: Callable[[], bool], timeout: float) -> bool:
    """Whether `check()` came to hold in time (the test reports its figures either way)."""
    try:
        await eventually(check, timeout)
    except AssertionError:
        return False
    return True


def sends_since(telegram: TelegramEmulator, slack: SlackEmulator, moment: float) -> list[float]:
    sent = [r.at for r in telegram.requests if r.method == "sendMessage" and r.at >= moment and r.status == 200]
    posts = ("chat.update", "chat.postMessage")
    return sorted(sent + [c.at for c in slack.calls if c.method in posts and c.at >= moment])


def census(telegram: TelegramEmulator, slack: SlackEmulator) -> list[str]:
    """What is missing or repeated: each friend's welcome aboard, each referrer's news, each card showing it and
    saying it once in its thread."""
    aboard = Counter(
        i for i in range(FRIENDS) for m in telegram.messages(FRIEND_BASE + i) if m.text.startswith("Welcome aboard")
    )
    news = Counter(
        int(match.group(1))
        for j in range(REFERRERS)
        for m in telegram.messages(REFERRER_BASE + j)
        if (match := _GREAT_NEWS.match(m.text))
    )
    cards = sum(
        "Converted" in post.plain() and sum(":tada:" in reply.text for reply in slack.thread(ALERTS, post.ts)) == 1
        for post in slack.messages(ALERTS)
    )
    problems = [f"{what}: {dict(seen)}" for what, seen in (("welcome aboard", aboard), ("news", news))
                if sorted(seen) != list(range(FRIENDS)) or set(seen.values()) != {1}]  # fmt: skip
    return problems + ([f"{cards} cards show the conversion"] if cards != FRIENDS else [])


@pytest.mark.faults
async def test_telegram_and_slack_away_sends_wait_without_spinning_and_all_go_out_once(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    database, port = tmp_path / "referrals.db", free_port()
    extra = {"HTTP_PORT": str(port), "CRM_API_TOKEN": TOKEN, "OUTBOX_OUTAGE_BACKOFF_SECONDS": BACKOFF, **FAST}
    bot = BotProcess(telegram, tmp_path, environment(telegram, slack, tmp_path, **extra), tmp_path / "bot.log")
    slack.mode = "socket"
    try:
        await bot.start()
        await bot.wait_polling()
        await slack.wait_for_socket(timeout=30)
        codes = await register_referrers(telegram, database, REFERRERS, timeout=60)
        await arrive(telegram, codes, 0, FRIENDS)
        await claim_every_alert(slack, database)
        await eventually(lambda: count(database, OPEN_SENDS) == 0, timeout=30)
        assert bot.process is not None
        referral_ids = [str(row[0]) for row in read(database, "SELECT id FROM referrals ORDER BY friend_telegram_id")]
        await telegram.go_down()
        await slack.go_down()
        down_at, cpu_before = time.monotonic(), cpu_seconds(bot.process.pid)
        answers = await convert_all(port, referral_ids)
        await asyncio.sleep(OUTAGE - (time.monotonic() - down_at))
        waiting = dict(read(database, "SELECT platform, COUNT(*) FROM outbox WHERE status <> 'sent' GROUP BY 1"))
        cpu = (cpu_seconds(bot.process.pid) - cpu_before) / (time.monotonic() - down_at)
        await telegram.come_back()
        await slack.come_back()
        back_at = time.monotonic()
        drained = await within(lambda: count(database, OPEN_SENDS) == 0, timeout=float(BACKOFF) + 30)
        resumed = sends_since(telegram, slack, back_at)
        dead = count(database, "SELECT COUNT(*) FROM outbox WHERE status = 'dead'")
        unsent = read(database, "SELECT platform, status, attempts, next_attempt_at FROM outbox WHERE status <> 'sent'")
        assert bot.process.returncode is None, bot.crashed("exited")
        assert await bot.terminate() == 0, bot.crashed("did not stop cleanly on SIGTERM")
    finally:
        await bot.ensure_stopped()
    log = (tmp_path / "bot.log").read_text(errors="replace").splitlines()
    print(
        f"\nfaults/platforms down: Telegram and Slack away {OUTAGE:.0f}s (OUTBOX_OUTAGE_BACKOFF_SECONDS={BACKOFF}); "
        f"{FRIENDS} conversions by the CRM meanwhile, answered {Counter(answers)}; waiting at the end: {waiting}; "
        f"bot CPU {cpu:.1%} of a core; first send {resumed[0] - back_at:.1f}s and last {resumed[-1] - back_at:.1f}s "
        f"after they came back ({len(resumed)} sends, all out: {drained}); dead letters {dead}; {len(log)} log lines"
    )
    assert drained, f"still not sent: {unsent}"
    assert set(answers) == {200}
    assert waiting.get("telegram", 0) >= 2 * FRIENDS and waiting.get("slack", 0) >= FRIENDS, waiting
    assert cpu < CPU_LIMIT, f"{cpu:.1%} of a core while the platforms were away"
    assert resumed and resumed[0] - back_at <= float(BACKOFF) + 2, resumed[:3]  # the next try, at the latest
    assert dead == 0
    assert not census(telegram, slack), census(telegram, slack)
    polling = [line for line in log if "getUpdates" in line]  # one line for the outage, one for its end
    assert len(polling) <= 2, polling
