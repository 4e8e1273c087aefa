"""Notifications held for their chat's window (a burst of thank-yous waiting for the minute) do not hold up the
chat's other messages: a referrer who asks the bot something is answered at once, and the held thank-yous still
arrive, merged, when their minute comes. Held rows keep their order among themselves, and a held row that was tried
and failed keeps its chat's order like any other."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.lanes import Lane
from bot.core.notifications import FRIEND_JOINED, REWARD
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage
from storage import open_store
from storage.base import Store

from conftest import Operator, eventually, settings_for
from helpers import start

BACKENDS = ("sqlite", "postgresql")
ANA = 1001
FRIENDS = 2000  # friend i is Telegram user FRIENDS + i
WINDOW = timedelta(seconds=60)
LEASE = timedelta(seconds=60)


def thank_yous(telegram: TelegramEmulator) -> list[SentMessage]:
    return [m for m in telegram.messages(ANA) if m.text.startswith("Thank you, Ana!") or "🎉" in m.text[:3]]


async def test_a_referrer_who_asks_for_help_is_answered_at_once_while_their_thank_yous_wait_for_the_minute(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    # Telegram's own limit in a chat (1 a second, 3 at once), so the answer is paced as in production.
    settings = settings_for(
        telegram, operator.database, telegram_chat_rate_per_second=1.0, telegram_chat_burst=3, notification_burst=3
    )
    async with await build_engine(settings, program, clock):
        code, _ = await start(telegram, ANA, "Ana")
        for i in range(6):
            await telegram.open_deep_link(telegram.user(FRIENDS + i, f"F{i}"), code)
        for i in range(6):
            await telegram.wait_for_messages(FRIENDS + i, 1, timeout=30)
        await eventually(lambda: len(thank_yous(telegram)) == 3, timeout=10)  # three at once, three wait
        held = "SELECT COUNT(*) AS n FROM outbox WHERE chat_id = ? AND status = 'pending' AND held = 1"
        assert operator.rows(held, str(ANA)) == [{"n": 1}]  # the other three, folded into one row for the minute
        before = len(telegram.messages(ANA))
        asked_at = time.monotonic()
        await telegram.send_command(telegram.user(ANA, "Ana"), "help")
        answer = (await telegram.wait_for_messages(ANA, before + 1, timeout=10))[before]
        waited = time.monotonic() - asked_at
        assert "/refer refers a friend directly" in answer.text
        assert waited <= 3.0, f"the answer to /help came {waited:.2f}s after it"  # not the minute the thank-yous wait
        assert len(thank_yous(telegram)) == 3  # the held ones still wait: the clock has not moved
        clock.advance(WINDOW)
        await eventually(lambda: len(thank_yous(telegram)) == 4, timeout=10)
    last = telegram.messages(ANA)[-1]
    assert "3 more friends just joined" in last.text, last.text  # after the answer, every friend counted


@asynccontextmanager
async def opened(operator: Operator) -> AsyncIterator[Store]:
    store = await open_store(operator.url)
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()


async def claimed(store: Store, clock: FakeClock, after: timedelta = timedelta(0)) -> list[str]:
    """What a claim at `after` from now hands out for Telegram, by dedupe key, in order."""
    rows = await store.claim_due(clock.now() + after, 10, LEASE, "telegram")
    return [row.dedupe_key for row in rows]


async def test_a_claim_lets_a_reply_past_held_rows_and_keeps_the_held_rows_in_order(
    operator: Operator, clock: FakeClock
) -> None:
    now = clock.now()
    async with opened(operator) as store:
        async with store.transaction() as tx:
            await tx.enqueue("telegram", "ana", {"text": "5 more friends"}, "thanks", now, lane=Lane.NOTICE)
            await tx.hold_notification("telegram", "ana", FRIEND_JOINED, "thanks", now + WINDOW)
            # Queued later, for an earlier slot: it still waits for the thank-you ahead of it.
            await tx.enqueue("telegram", "ana", {"text": "your coupon"}, "reward", now, lane=Lane.NOTICE)
            await tx.hold_notification("telegram", "ana", REWARD, "reward", now + WINDOW / 2)
            await tx.enqueue("telegram", "ana", {"text": "help"}, "help", now, lane=Lane.REPLY)
        (reply,) = await store.claim_due(now, 10, LEASE, "telegram")
        assert reply.dedupe_key == "help"  # past both held rows
        await store.mark_sent({reply.id: "1"}, now)
        assert await claimed(store, clock, WINDOW / 2) == []  # the reward notice is due, but not its turn
        assert await claimed(store, clock, WINDOW) == ["thanks", "reward"]


async def test_a_held_row_that_failed_keeps_its_chats_order_like_any_other(
    operator: Operator, clock: FakeClock
) -> None:
    now = clock.now()
    async with opened(operator) as store:
        async with store.transaction() as tx:
            await tx.enqueue("telegram", "ana", {"text": "5 more friends"}, "thanks", now, lane=Lane.NOTICE)
            await tx.hold_notification("telegram", "ana", FRIEND_JOINED, "thanks", now + WINDOW)
        (row,) = await store.claim_due(now + WINDOW, 10, LEASE, "telegram")
        # Telegram said "too many requests" for the chat: tried again in 30 s, as an ordinary row now.
        await store.retry_later(row.id, now + WINDOW + timedelta(seconds=30), "429", counts=False)
        async with store.transaction() as tx:
            await tx.enqueue("telegram", "ana", {"text": "help"}, "help", now + WINDOW, lane=Lane.REPLY)
        assert await claimed(store, clock, WINDOW) == []  # the reply waits: the thank-you goes first
        assert await claimed(store, clock, WINDOW + timedelta(seconds=30)) == ["thanks", "help"]
