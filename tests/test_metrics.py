"""What an operator's Prometheus and load balancer see: /metrics moving as referrals arrive and messages
go out, and /healthz saying whether the bot is ready."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.engagement.ask_sweep import FollowUpSweep
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, eventually
from helpers import get, refer_ben, scrape, start, value


async def test_metrics_move_when_referrals_arrive_and_messages_are_sent(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    before = await scrape(team)
    assert value(before, "referral_bot_referrals", status="new") == 0
    await refer_ben(telegram, slack)
    await telegram.wait_for_messages(2001, 1)
    # the emulator holds the alert before the bot has its reply and times the send: wait for the bot's side
    after = await scrape_when(team, "referral_bot_send_api_seconds_count", platform="slack")
    assert value(after, "referral_bot_referrals", status="new") == 1
    # Ana's welcome, Ben's welcome, and the alert: each timed from queuing to sending, and its API call.
    assert value(after, "referral_bot_send_latency_seconds_count", platform="telegram") >= 2
    assert value(after, "referral_bot_send_latency_seconds_count", platform="slack") == 1
    assert value(after, "referral_bot_send_api_seconds_count", platform="slack") == 1
    assert value(after, "referral_bot_send_api_seconds_sum", platform="slack") > 0
    assert value(after, "referral_bot_outbox_rows", platform="slack", status="pending") == 0
    # Every test starts its own engine in this one process: counts that started from zero show that
    # each engine has a registry of its own.


async def test_429s_and_dead_letters_are_counted_per_platform(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=20)
    await refer_ben_without_waiting(telegram)
    await eventually(lambda: any(call.status == 429 for call in slack.calls))
    samples = await scrape_when(team, "referral_bot_rate_limited_total", platform="slack")
    # the 429 is counted as it comes back; the row is put back a moment later
    samples = await scrape_when(team, "referral_bot_outbox_rows", platform="slack", status="pending")
    assert value(samples, "referral_bot_rate_limited_total", platform="slack") == 1
    slack.fail_next("chat.postMessage", "channel_not_found")  # the retry fails for good
    clock.advance(timedelta(seconds=21))
    # the row is marked dead, then the dead letter counted: a scrape may fall between the two, so wait for both
    await scrape_when(team, "referral_bot_outbox_rows", platform="slack", status="dead")
    samples = await scrape_when(team, "referral_bot_dead_letters_total", platform="slack")
    assert value(samples, "referral_bot_outbox_rows", platform="slack", status="dead") == 1
    assert value(samples, "referral_bot_rate_limited_total", platform="slack") == 1
    assert slack.messages(ALERTS) == []


async def refer_ben_without_waiting(telegram: TelegramEmulator) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)


async def scrape_when(engine: Engine, name: str, **labels: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Scrape until the counter shows 1 (it moves as the dispatcher works, not as the test does)."""
    for _ in range(100):
        samples = await scrape(engine)
        if value(samples, name, **labels) == 1:
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} {labels} did not reach 1")


async def test_sla_breaches_and_nudges_are_counted(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    alert = await refer_ben(telegram, slack)
    clock.advance(timedelta(minutes=6))  # past the 5-minute claim limit, in business hours
    await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    samples = await scrape_when(team, "referral_bot_sla_breaches_total", sla="claim")
    assert value(samples, "referral_bot_nudges_sent_total", kind="claim_nudge") == 1
    assert value(samples, "referral_bot_nudges_sent_total", kind="escalate") == 0


async def test_healthz_is_ok_while_every_part_runs_and_names_a_part_that_stopped(team: Engine) -> None:
    status, content_type, body = await get(team, "/healthz")
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert '"status": "ok"' in body
    team.part(FollowUpSweep).stop()
    await eventually(lambda: "FollowUpSweep" in team.stopped_parts())
    status, _, body = await get(team, "/healthz")
    assert status == 503
    assert '"status": "unavailable"' in body and "FollowUpSweep: stopped" in body
