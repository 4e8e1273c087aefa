"""Priority lanes in the outbox: under a campaign that fills Telegram's overall rate, a friend's welcome still goes
out within seconds, notifications and the campaign keep moving, a chat's messages stay in order, the lanes survive
a restart, and two dispatchers on one PostgreSQL database send each row once.

The emulator enforces an overall rate (low, so the tests are quick) and answers 429 past it, as Telegram does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from bot.app.demo import TOKEN
from bot.app.wiring import build_engine, dispatch_policy
from bot.core.clock import FakeClock
from bot.core.lanes import Lane, acting_for
from bot.core.models import ChatUser, Outgoing
from bot.customers.services import CustomerServices
from bot.delivery.outbox import Dispatcher
from bot.engagement.asks import AskCampaigns
from bot.program.rules import Program
from handlers.telegram import TelegramSender, build_application
from messages import Renderer
from sandbox.telegram_api import TelegramEmulator
from storage import open_store
from storage.base import Store

from conftest import BOT_USERNAME, Operator, eventually, settings_for
from helpers import scrape, start, value

BACKENDS = ("sqlite", "postgresql")
CAMPAIGN, FIRST_CHAT = 2_000, 7_000_000
NOTICES, NOTICE_CHAT = 40, 8_000_000
FRIEND = 3001


def sent(telegram: TelegramEmulator, chats: range) -> int:
    """How many messages reached these chats."""
    return sum(
        r.method.lower() == "sendmessage" and r.status == 200 and int(r.params["chat_id"]) in chats
        for r in telegram.requests
    )


def refused(telegram: TelegramEmulator) -> int:
    """429s the bot caused by sending faster than the overall rate."""
    return sum(r.status == 429 for r in telegram.requests)


@asynccontextmanager
async def opened(operator: Operator) -> AsyncIterator[Store]:
    """The database as a second process (the CLI running a campaign) sees it."""
    store = await open_store(operator.url)
    try:
        yield store
    finally:
        await store.close()


async def queue(
    telegram: TelegramEmulator, store: Store, clock: FakeClock, chats: range, lane: Lane, text: str
) -> None:
    """What a campaign (or a burst of notifications) leaves in the outbox: one row per chat, in one transaction. Its
    recipients are people who have a chat with the bot (Telegram answers "chat not found" for anyone else)."""
    for chat in chats:
        telegram.user(chat, f"Customer{chat}")
    async with store.transaction() as tx:
        for chat in chats:
            payload = Outgoing(chat_id=chat, text=f"{text} {chat}").to_payload()
            await tx.enqueue("telegram", str(chat), payload, f"{text}:{chat}", clock.now(), lane=lane)


def limited(telegram: TelegramEmulator, operator: Operator, per_second: float, **overrides: Any) -> Any:
    telegram.limit_rate(per_second, burst=int(per_second))
    return settings_for(telegram, operator.database, telegram_rate_per_second=per_second, **overrides)


async def test_a_friends_welcome_goes_out_within_seconds_while_a_campaign_of_2000_waits(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    campaign = range(FIRST_CHAT, FIRST_CHAT + CAMPAIGN)
    async with await build_engine(limited(telegram, operator, 20.0), program, clock) as engine:
        code, _ = await start(telegram, 1001, "Ana")
        async with opened(operator) as store:
            await queue(telegram, store, clock, campaign, Lane.BULK, "Spring offer")
        await eventually(lambda: sent(telegram, campaign) >= 40, timeout=10)  # the campaign is going at full rate
        opened_at = time.monotonic()
        await telegram.open_deep_link(telegram.user(FRIEND, "Ben"), code)
        (welcome,) = await telegram.wait_for_messages(FRIEND, 1, timeout=5)
        waited = time.monotonic() - opened_at
        thanked = await telegram.wait_for_messages(1001, 2, timeout=5)
        behind = CAMPAIGN - sent(telegram, campaign)
        samples = await scrape(engine)
    # The operator's view of each lane's wait: the replies and the campaign's sends so far are counted apart.
    assert value(samples, "referral_bot_lane_wait_seconds_count", platform="telegram", lane="1") >= 2
    assert value(samples, "referral_bot_lane_wait_seconds_count", platform="telegram", lane="4") >= 40
    assert "Ben" in welcome.text and waited <= 2.0, f"welcome after {waited:.2f}s"
    assert "Ben" in thanked[1].text  # the referrer's thank-you, a notification, did not wait for the campaign
    assert behind > CAMPAIGN * 0.8, f"only {behind} campaign messages were still waiting"
    assert refused(telegram) == 0
    lanes = {(row["chat_id"], row["lane"]) for row in operator.rows("SELECT chat_id, lane FROM outbox WHERE lane < 4")}
    # What the operator sees: Ben's welcome and Ana's own /start were replies, her thank-you a notification.
    assert lanes == {(str(FRIEND), Lane.REPLY), ("1001", Lane.REPLY), ("1001", Lane.NOTICE)}


async def test_notifications_and_the_campaign_keep_moving_under_a_steady_stream_of_replies(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    campaign, notices = range(FIRST_CHAT, FIRST_CHAT + CAMPAIGN), range(NOTICE_CHAT, NOTICE_CHAT + 5 * NOTICES)
    people = [telegram.user(4000 + n, f"Person{n}") for n in range(20)]
    async with await build_engine(limited(telegram, operator, 10.0), program, clock):
        async with opened(operator) as store:
            await queue(telegram, store, clock, campaign, Lane.BULK, "Spring offer")
            await queue(telegram, store, clock, notices, Lane.NOTICE, "Your reward is ready")
        await eventually(lambda: sent(telegram, campaign) >= 5, timeout=10)
        before = sent(telegram, campaign), sent(telegram, notices)
        for _ in range(6):  # 20 replies a second asked for, twice what the rate allows
            for person in people:
                await telegram.send_command(person, "help")
            await asyncio.sleep(1.0)
        after = sent(telegram, campaign), sent(telegram, notices)
        replies = sent(telegram, range(4000, 4020))
    assert replies >= 35, f"only {replies} replies in 6 s"  # the lion's share of ~59 sends went to people waiting
    assert after[1] - before[1] >= 4, f"notifications: {before[1]} → {after[1]}"  # 2 in 11 of the budget
    assert after[0] - before[0] >= 2, f"campaign: {before[0]} → {after[0]}"  # 1 in 11
    assert refused(telegram) == 0


async def test_a_chats_messages_stay_in_order_across_lanes_and_the_earlier_one_is_hurried_along(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    campaign = range(FIRST_CHAT, FIRST_CHAT + CAMPAIGN)
    last = campaign[-1]  # the campaign's last recipient: their ask would go out in about 100 s
    async with await build_engine(limited(telegram, operator, 20.0), program, clock):
        async with opened(operator) as store:
            await queue(telegram, store, clock, campaign, Lane.BULK, "Spring offer")
        await eventually(lambda: sent(telegram, campaign) >= 20, timeout=10)
        asked_at = time.monotonic()
        await telegram.send_command(telegram.user(last, "Zoe"), "help")
        offer, reply = await telegram.wait_for_messages(last, 2, timeout=5)
        waited = time.monotonic() - asked_at
    assert offer.text == f"Spring offer {last}"  # queued first, so it arrives first
    assert not reply.text.startswith("Spring offer")  # the answer to /help
    assert waited <= 3.0, f"the reply came {waited:.2f}s after /help"


async def test_lanes_survive_a_restart_and_the_welcome_still_goes_first(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    campaign, notices = range(FIRST_CHAT, FIRST_CHAT + CAMPAIGN), range(NOTICE_CHAT, NOTICE_CHAT + NOTICES)
    settings = limited(telegram, operator, 20.0)
    async with await build_engine(settings, program, clock):
        code, _ = await start(telegram, 1001, "Ana")
    # Stopped: a campaign is queued, then a friend's arrival is handled (as the Telegram adapter would, for their
    # update) with the bot's thank-yous, and only then does the bot start again.
    async with opened(operator) as store:
        await queue(telegram, store, clock, campaign, Lane.BULK, "Spring offer")
        await queue(telegram, store, clock, notices, Lane.NOTICE, "Your reward is ready")
        services = CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None, None)
        telegram.user(FRIEND, "Ben", language_code="en")  # Ben has opened the chat: his /start is what is handled
        with acting_for(FRIEND):
            await services.referrals.start("tg:restart-1", ChatUser(FRIEND, "Ben", language_code="en"), code)
    first_send = len(telegram.requests)
    async with await build_engine(settings, program, clock):
        (welcome,) = await telegram.wait_for_messages(FRIEND, 1, timeout=5)
        await eventually(lambda: sent(telegram, notices) == NOTICES, timeout=10)
        order = [int(r.params["chat_id"]) for r in telegram.requests[first_send:] if r.method.lower() == "sendmessage"]
    assert "Ben" in welcome.text
    assert order[0] == FRIEND, order[:5]  # queued last, sent first
    campaign_before_notices = sum(chat in campaign for chat in order[: order.index(notices[-1])])
    assert campaign_before_notices <= NOTICES // 2 + 2  # at 2:1, the notices were not held up by the campaign
    assert refused(telegram) == 0


async def test_a_real_campaigns_asks_are_bulk_and_answers_to_commands_are_replies(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with await build_engine(limited(telegram, operator, 20.0), program, clock):
        for n in range(3):
            await start(telegram, 1001 + n, f"Customer{n}")
        async with opened(operator) as store:
            services = CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None, None)
            report = await AskCampaigns(services.units).run("customer")
        assert report.asked == 3
        for n in range(3):
            await telegram.wait_for_messages(1001 + n, 2)
    rows = operator.rows("SELECT dedupe_key, lane FROM outbox ORDER BY rowid")
    asks = [row["lane"] for row in rows if row["dedupe_key"].startswith("ask:campaign:")]  # keyed by the ask's id
    assert asks == [Lane.BULK] * 3
    assert {row["lane"] for row in rows if not row["dedupe_key"].startswith("ask:campaign:")} == {Lane.REPLY}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite allows one instance (only_instance)
async def test_two_dispatchers_on_one_postgresql_database_send_each_row_once_and_keep_priority(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    campaign = range(FIRST_CHAT, FIRST_CHAT + 600)
    settings = limited(telegram, operator, 15.0)
    telegram.limit_rate(30.0, burst=30)  # two instances, each paced at 15 a second
    async with await build_engine(settings, program, clock), second_dispatcher(telegram, operator, settings, clock):
        code, _ = await start(telegram, 1001, "Ana")
        async with opened(operator) as store:
            await queue(telegram, store, clock, campaign, Lane.BULK, "Spring offer")
        await eventually(lambda: sent(telegram, campaign) >= 60, timeout=10)
        opened_at = time.monotonic()
        await telegram.open_deep_link(telegram.user(FRIEND, "Ben"), code)
        await telegram.wait_for_messages(FRIEND, 1, timeout=5)
        waited = time.monotonic() - opened_at
        await eventually(lambda: sent(telegram, campaign) >= len(campaign), timeout=40)
        await asyncio.sleep(0.5)  # anything sent twice would have arrived by now
    per_chat = [len(telegram.messages(chat)) for chat in campaign]
    assert per_chat == [1] * len(campaign)  # every row once, whichever instance sent it
    assert waited <= 2.0, f"welcome after {waited:.2f}s"
    assert operator.count("outbox WHERE status <> 'sent'") == 0
    assert refused(telegram) == 0


@asynccontextmanager
async def second_dispatcher(
    telegram: TelegramEmulator, operator: Operator, settings: Any, clock: FakeClock
) -> AsyncIterator[None]:
    """Another instance's outbox: its own connection to the database, its own bot client, the same policy."""
    app = build_application(TOKEN, telegram.base_url, telegram.base_file_url, settings.telegram_rate_per_second)
    await app.initialize()
    try:
        async with opened(operator) as store:
            dispatcher = Dispatcher(store, {"telegram": TelegramSender(app.bot)}, clock, dispatch_policy(settings))
            running = asyncio.create_task(dispatcher.run())
            try:
                yield
            finally:
                dispatcher.stop()
                await asyncio.wait_for(running, 10)
    finally:
        await app.shutdown()


async def test_a_claim_takes_higher_lanes_first_and_never_a_chats_later_row_without_its_earlier_one(
    operator: Operator, clock: FakeClock
) -> None:
    lease = timedelta(seconds=60)
    async with opened(operator) as store:
        await store.migrate()
        async with store.transaction() as tx:
            for chat in ("ana", "ben", "cleo"):
                await tx.enqueue("telegram", chat, {"text": "offer"}, f"offer:{chat}", clock.now(), lane=Lane.BULK)
            await tx.enqueue("telegram", "dan", {"text": "reward"}, "reward:dan", clock.now(), lane=Lane.NOTICE)
            await tx.enqueue("telegram", "cleo", {"text": "help"}, "help:cleo", clock.now(), lane=Lane.REPLY)
            await tx.enqueue("slack", "C1", {"text": "alert"}, "alert:1", clock.now())
        first = await store.claim_due(clock.now(), 2, lease, "telegram", bulk=0)
        # Cleo's offer was queued before her reply: it goes first, taken along in the reply's lane.
        assert [(row.chat_id, row.payload["text"]) for row in first] == [("cleo", "offer"), ("cleo", "help")]
        second = await store.claim_due(clock.now(), 10, lease, "telegram", bulk=1)
        assert [(row.chat_id, row.lane) for row in second] == [("dan", Lane.NOTICE), ("ana", Lane.BULK)]
        (alert,) = await store.claim_due(clock.now(), 10, lease, "slack")
        assert alert.lane == Lane.TEAM  # Slack rows are the team's lane without anyone saying so
