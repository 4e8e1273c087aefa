"""SQLite group commit: a backlog of friends is stored with far fewer fsyncs than arrivals, each person's
updates still take effect in order, and one failing write never takes the others in its commit with it."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.models import Customer
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import SQLiteStore

from conftest import Operator, eventually, settings_for, team_bot
from helpers import scrape, start, value

FRIENDS = 40


async def backlog_of_friends(telegram: TelegramEmulator, code: str, first: int, count: int) -> None:
    for n in range(first, first + count):
        await telegram.open_deep_link(telegram.user(5000 + n, f"Friend{n}"), code)


async def test_a_backlog_of_friends_is_stored_with_shared_commits_and_everyone_welcomed(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    rules = program.model_copy(update={"limits": program.limits.model_copy(update={"velocity_per_hour": 100})})
    async with team_bot(telegram, slack, rules, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
    await backlog_of_friends(telegram, code, 0, FRIENDS)  # the bot is down while they arrive
    async with team_bot(telegram, slack, rules, clock, operator.database) as engine:
        for n in range(FRIENDS):
            (welcome,) = await telegram.wait_for_messages(5000 + n, 1)
            assert f"Welcome to Acme Coffee, Friend{n}! Ana invited you." in welcome.text
        samples = await scrape(engine)
    assert operator.count("referrals") == FRIENDS
    writes, commits = (
        value(samples, "referral_bot_store_writes_total"),
        value(samples, "referral_bot_store_commits_total"),
    )
    # The sends go out one by one, each recorded in a commit of its own; the arrivals came as one batch and
    # shared their commits, so at least half of their fsyncs were saved.
    assert writes - commits >= FRIENDS / 2, (writes, commits)


async def test_velocity_flags_go_to_the_later_friends_when_a_batch_runs_side_by_side(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    rules = program.model_copy(update={"limits": program.limits.model_copy(update={"velocity_per_hour": 3})})
    settings = settings_for(telegram, operator.database)
    async with await build_engine(settings, rules, clock):
        code, _ = await start(telegram, 1001, "Ana")
    await backlog_of_friends(telegram, code, 0, 6)
    async with await build_engine(settings, rules, clock):
        await telegram.wait_for_messages(1001, 1 + 6)  # the welcome, then a thank-you per friend
    flags = operator.rows("SELECT friend_telegram_id, flagged FROM referrals ORDER BY created_at, rowid")
    assert [(f["friend_telegram_id"], f["flagged"]) for f in flags] == [(5000 + n, int(n >= 3)) for n in range(6)]


async def test_each_person_s_updates_in_one_batch_take_effect_in_the_order_they_were_sent(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    people = [telegram.user(1001 + n, f"Person{n}") for n in range(10)]
    for person in people:  # the bot is down: each opens it and at once asks for the language menu
        await telegram.send_command(person, "start")
    for person in reversed(people):
        await telegram.send_command(person, "language")
    async with await build_engine(settings_for(telegram, operator.database), program, clock):
        for n, person in enumerate(people):
            welcome, menu = await telegram.wait_for_messages(person.id, 2)
            assert welcome.text.startswith(f"Hi Person{n}, welcome")
            assert menu.text == "Choose your language."
    assert operator.count("customers") == len(people)


def customer(n: int) -> Customer:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Customer(
        telegram_id=n, first_name=f"C{n}", last_name=None, username=None, language="en", segment="customer",
        referral_code=f"code{n}", variant="a", created_at=now, updated_at=now,
    )  # fmt: skip


async def write(store: SQLiteStore, n: int, fail: bool = False) -> None:
    async with store.transaction() as tx:
        await tx.insert_customer(customer(n))
        if fail:
            raise ValueError("this write fails")


async def test_a_failing_write_is_rolled_back_alone_and_the_rest_of_its_commit_is_stored(tmp_path: Path) -> None:
    operator = Operator(tmp_path / "group.db")  # reads what was committed, as an operator's sqlite3 would
    store = await SQLiteStore.open(str(operator.path))
    await store.migrate()
    migrated = replace(store.commit_counts)  # the migrations' own writes and commits, not counted below
    try:
        outcomes = await asyncio.gather(*(write(store, n, fail=n == 7) for n in range(20)), return_exceptions=True)
        assert [type(o).__name__ for o in outcomes].count("ValueError") == 1
        stored = [r["telegram_id"] for r in operator.rows("SELECT telegram_id FROM customers ORDER BY 1")]
        assert stored == [n for n in range(20) if n != 7]
        commits = store.commit_counts.commits - migrated.commits
        writes = store.commit_counts.writes - migrated.writes
        assert commits < 19 == writes  # shared, and each stored write counted once
    finally:
        await store.close()


async def test_a_write_whose_successor_is_cancelled_in_line_is_still_committed(tmp_path: Path) -> None:
    operator = Operator(tmp_path / "group.db")  # reads what was committed, as an operator's sqlite3 would
    store = await SQLiteStore.open(str(operator.path))
    await store.migrate()
    try:
        queued = asyncio.Event()

        async def first() -> None:
            async with store.transaction() as tx:
                await tx.insert_customer(customer(1))
                await queued.wait()
                # The turn passes to the second write, which is cancelled before it can run: the commit that
                # carries this write must not wait for it.
                asyncio.get_running_loop().call_soon(second_task.cancel)

        first_task = asyncio.create_task(first())
        await asyncio.sleep(0)
        second_task = asyncio.create_task(write(store, 2))
        await asyncio.sleep(0)
        queued.set()
        await asyncio.wait_for(first_task, 5)
        with pytest.raises(asyncio.CancelledError):
            await second_task
        assert [r["telegram_id"] for r in operator.rows("SELECT telegram_id FROM customers")] == [1]
    finally:
        await store.close()


async def test_a_batch_that_could_not_be_stored_is_retried_and_each_friend_welcomed_once(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    settings = settings_for(telegram, operator.path, sqlite_busy_timeout_ms=300)
    async with await build_engine(settings, program, clock):
        code, _ = await start(telegram, 1001, "Ana")
        blocker = sqlite3.connect(operator.path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # an operator's sqlite3 shell holds the database a while
        await backlog_of_friends(telegram, code, 0, 5)
        await asyncio.sleep(1.0)
        assert not any(telegram.messages(5000 + n) for n in range(5))
        blocker.execute("ROLLBACK")
        blocker.close()
        for n in range(5):
            await telegram.wait_for_messages(5000 + n, 1, timeout=15)
        last = max(int(r["id"].removeprefix("tg:")) for r in operator.rows("SELECT id FROM processed_inbound"))
        await eventually(lambda: telegram.confirmed_offset > last, timeout=5)
        await asyncio.sleep(0.5)  # anything sent twice would have gone out by now
    assert [len(telegram.messages(5000 + n)) for n in range(5)] == [1] * 5
    assert operator.count("referrals") == 5


async def test_a_send_being_recorded_commits_at_once_rather_than_after_the_queue_of_arrivals(
    tmp_path: Path,
) -> None:
    operator = Operator(tmp_path / "group.db")  # reads what was committed, as an operator's sqlite3 would
    store = await SQLiteStore.open(str(operator.path))
    await store.migrate()
    try:
        async with store.transaction() as tx:
            await tx.enqueue("telegram", "1001", {"text": "Welcome"}, "welcome-1001", datetime(2026, 12, 1, tzinfo=UTC))
        (row,) = operator.rows("SELECT id FROM outbox")
        arrivals = [asyncio.create_task(write(store, n)) for n in range(FRIENDS)]
        await asyncio.sleep(0)  # the first arrival holds the writer, the rest queue behind it
        # The welcome went out: until this is durable, a crash would send it a second time.
        await store.mark_sent({row["id"]: "m1"}, datetime(2026, 12, 1, tzinfo=UTC))
        stored_by_then = len(operator.rows("SELECT telegram_id FROM customers"))
        await asyncio.gather(*arrivals)
        assert operator.rows("SELECT status FROM outbox") == [{"status": "sent"}]
        assert stored_by_then < FRIENDS / 4, stored_by_then  # it did not wait for the queue to drain
        assert len(operator.rows("SELECT telegram_id FROM customers")) == FRIENDS
    finally:
        await store.close()
