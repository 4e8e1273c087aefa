"""Two `referral-bot run` processes on one PostgreSQL database behind a load balancer, as a business that outgrew
one machine runs them: Telegram by webhook and Slack in HTTP mode, each spread round-robin over both instances.

Every referral is recorded once, every alert posted once, every nudge fired once; then one instance is killed and
the other finishes the work.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.app.demo import TOKEN
from sandbox.load_balancer import LoadBalancer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, ROOT, SAM, eventually, slack_settings
from crash_feeder import BotProcess
from helpers import call_scripts, told_privately
from postgres import Schema, fresh_schema

PUBLIC_HOOK = "https://referrals.example.com/telegram/hook"
SECRET = "a-webhook-secret-for-two-instances"
REFERRERS, FRIENDS, MORE_FRIENDS = 10, 30, 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    bot: BotProcess
    webhook: str  # where this instance's Telegram webhook and Slack events are served
    slack: str


def environment(
    telegram: TelegramEmulator, slack: SlackEmulator, schema: Schema, ports: tuple[int, int]
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "SLACK_", "OUTBOX_"))}
    env.update({key.upper(): str(value) for key, value in slack_settings(slack, "http").items()})
    env.update(
        DATABASE_URL=schema.url,
        PROGRAM_FILE=str(ROOT / "program.example.toml"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        TELEGRAM_FILE_URL=telegram.base_file_url,
        TELEGRAM_WEBHOOK_URL=PUBLIC_HOOK,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_WEBHOOK_HOST="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(ports[0]),
        SLACK_HTTP_PORT=str(ports[1]),
        TELEGRAM_CHAT_RATE_PER_SECOND="200",
        TELEGRAM_CHAT_BURST="20",
        NOTIFICATION_BURST="20",  # each friend's thank-you on its own, as the story counts them
        SLACK_CHANNEL_RATE_PER_SECOND="200",
        OUTBOX_LEASE_SECONDS="5",  # a killed instance's sends are taken over after this long
        LOG_LEVEL="WARNING",
        HTTP_PORT="0",
    )
    return env


@asynccontextmanager
async def two_instances(
    telegram: TelegramEmulator, slack: SlackEmulator, schema: Schema, tmp_path: Path
) -> AsyncIterator[tuple[list[Instance], LoadBalancer, LoadBalancer]]:
    async with AsyncExitStack() as stack:
        hooks = await stack.enter_async_context(LoadBalancer())
        events = await stack.enter_async_context(LoadBalancer())
        instances = []
        for n in range(2):
            ports = (free_port(), free_port())
            env = environment(telegram, slack, schema, ports)
            bot = BotProcess(telegram, tmp_path, env, tmp_path / f"instance{n}.log")
            stack.push_async_callback(bot.ensure_stopped)
            instance = Instance(bot, f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
            hooks.add(instance.webhook)
            events.add(instance.slack)
            instances.append(instance)
        telegram.route_webhook(PUBLIC_HOOK, f"{hooks.url}/telegram/hook")
        slack.bot_endpoint = f"{events.url}/slack/events"
        for instance in instances:
            await instance.bot.start()
        await eventually(lambda: _set_webhook_calls(telegram) == 2, timeout=60)  # both are up and serving
        yield instances, hooks, events


def _set_webhook_calls(telegram: TelegramEmulator) -> int:
    return sum(request.method == "setWebhook" for request in telegram.requests)


async def arrive(telegram: TelegramEmulator, codes: list[str], first: int, count: int) -> None:
    for n in range(first, first + count):
        await telegram.open_deep_link(telegram.user(20_000 + n, f"Friend{n}"), codes[n % len(codes)])


def alerted(slack: SlackEmulator) -> Counter[str]:
    """How many times each referral's alert was posted to the channel (its Claim button carries its id)."""
    return Counter(
        str(button["value"])
        for post in slack.messages(ALERTS)
        for button in post.buttons()
        if button.get("action_id") == "referral_claim"
    )


def nudges(slack: SlackEmulator) -> Counter[str]:
    """Claim nudges per alert thread."""
    return Counter(
        post.ts
        for post in slack.messages(ALERTS)
        for reply in slack.thread(ALERTS, post.ts)
        if ":alarm_clock:" in reply.text
    )


async def test_two_instances_share_the_work_once_each_and_one_finishes_alone(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    with fresh_schema() as schema:
        async with two_instances(telegram, slack, schema, tmp_path) as (instances, hooks, events):
            codes = await _referrers(telegram, schema)
            await arrive(telegram, codes, 0, FRIENDS)
            await _all_recorded_and_alerted(telegram, slack, schema, FRIENDS)
            assert all(hooks.counts[i.webhook] > 5 for i in instances), hooks.counts  # both took updates
            # The claim SLA runs out for every referral at once: both schedulers look, one nudge each fires.
            schema.execute("UPDATE sla_timers SET due_at = ? WHERE kind = 'claim_nudge'", _now())
            await eventually(lambda: sum(nudges(slack).values()) >= FRIENDS, timeout=30)
            await asyncio.sleep(2)  # more scheduler passes on both instances: nothing more may fire
            assert set(nudges(slack).values()) == {1} and len(nudges(slack)) == FRIENDS
            await _two_reps_claim_at_once(slack, schema)
            assert all(events.counts[i.slack] > 0 for i in instances), events.counts  # both took clicks
            await arrive(telegram, codes, FRIENDS, MORE_FRIENDS)
            await instances[0].bot.kill()  # mid-work: updates, sends and timers in flight
            await _all_recorded_and_alerted(telegram, slack, schema, FRIENDS + MORE_FRIENDS, timeout=60)
            # What the killed instance had leased goes out from the other once the lease runs out.
            await eventually(lambda: min(welcomes(telegram)) == 1, timeout=30)
            await eventually(lambda: schema.rows(OPEN_SENDS) == [{"n": 0}], timeout=30)
    assert sum(welcomes(telegram)) - FRIENDS - MORE_FRIENDS <= 1  # a send cut by the kill may repeat, never more


OPEN_SENDS = "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'"


def welcomes(telegram: TelegramEmulator) -> list[int]:
    """How many welcomes each friend got, whichever instance took their arrival or sent the welcome."""
    friends = range(20_000, 20_000 + FRIENDS + MORE_FRIENDS)
    return [sum("Welcome to Acme Coffee" in m.text for m in telegram.messages(f)) for f in friends]


async def _two_reps_claim_at_once(slack: SlackEmulator, schema: Schema) -> None:
    """Rita and Sam click Claim on the same alerts at once; the balancer hands the clicks to different instances."""
    cards = [post for post in slack.messages(ALERTS) if post.buttons()][:4]
    await asyncio.gather(*(slack.click(rep, card, "referral_claim") for card in cards for rep in (RITA, SAM)))
    await eventually(lambda: len(told_privately(slack, RITA)) + len(told_privately(slack, SAM)) == len(cards))
    refusals = [text for rep in (RITA, SAM) for text in told_privately(slack, rep)]
    # Whichever instance took it, each claim shows its rep the call script once.
    await eventually(lambda: len(call_scripts(slack, RITA)) + len(call_scripts(slack, SAM)) == len(cards))
    assert all(text.endswith("has already claimed this referral.") for text in refusals), refusals
    claimed = schema.rows("SELECT assignee FROM referrals WHERE status = 'claimed'")
    assert len(claimed) == len(cards) and {row["assignee"] for row in claimed} <= {RITA, SAM}


async def _referrers(telegram: TelegramEmulator, schema: Schema) -> list[str]:
    for n in range(REFERRERS):
        await telegram.send_command(telegram.user(10_000 + n, f"Referrer{n}"), "start")
    await eventually(lambda: len(schema.rows("SELECT 1 FROM customers")) == REFERRERS, timeout=30)
    return [row["referral_code"] for row in schema.rows("SELECT referral_code FROM customers ORDER BY telegram_id")]


async def _all_recorded_and_alerted(
    telegram: TelegramEmulator, slack: SlackEmulator, schema: Schema, friends: int, timeout: float = 30
) -> None:
    await eventually(lambda: len(alerted(slack)) == friends, timeout=timeout)
    rows = schema.rows("SELECT friend_telegram_id, COUNT(*) AS n FROM referrals GROUP BY friend_telegram_id")
    assert sorted(row["friend_telegram_id"] for row in rows) == [20_000 + n for n in range(friends)]
    assert {row["n"] for row in rows} == {1}  # each friend's referral recorded once
    assert set(alerted(slack).values()) == {1}  # and alerted once
    assert schema.rows("SELECT COUNT(*) AS n FROM processed_inbound")[0]["n"] >= REFERRERS + friends


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
