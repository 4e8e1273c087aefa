"""The storage contract: every backend must pass these, SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.models import Customer, ParkedUpdate, Referral, Reward
from bot.core.subjects import person
from storage import SQLiteStore, Store, open_store
from storage.migrations import load_migrations

from conftest import Operator

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Opener = Callable[[], Awaitable[Store]]
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
async def open_more(operator: Operator) -> AsyncIterator[Opener]:
    """Opens stores on one fresh database, as several bot instances would; all closed at the end. The tests read
    what they stored as an operator would, with the database's own client."""
    async with AsyncExitStack() as stack:

        async def opener() -> Store:
            opened = await open_store(operator.url)
            stack.push_async_callback(opened.close)
            await opened.migrate()
            return opened

        yield opener


@pytest.fixture
async def store(open_more: Opener) -> Store:
    return await open_more()


def customer(telegram_id: int, code: str) -> Customer:
    return Customer(telegram_id, "Ana", None, "ana", "en", "customer", code, "a", T0, T0)


def referral(referral_id: str, referrer: int, friend: int | None) -> Referral:
    return Referral(referral_id, referrer, "link", "link", "new", T0, T0, friend_telegram_id=friend)


async def test_migrations_are_recorded_and_applied_once(store: Store, backend: str, operator: Operator) -> None:
    rows = operator.rows("SELECT version, name FROM schema_migrations ORDER BY version")
    names = [row["name"] for row in rows]
    assert names == [migration.name for migration in load_migrations(backend)]  # type: ignore[arg-type]
    assert names[:7] == [
        "0001_initial",
        "0002_team",
        "0003_slack_alerts",
        "0004_rewards",
        "0005_asks",
        "0006_feedback",
        "0007_report_indexes",
    ]
    assert ("0008_outbox_order" in names) == (backend == "postgresql")  # SQLite has its own rowid
    assert names[names.index("0009_stored_durations") :][:7] == [
        "0009_stored_durations",
        "0010_report_tallies",
        "0011_rep_indexes",
        "0012_advocate_tallies",
        "0013_request_keys",
        "0014_outbox_subjects",
        "0015_retention_indexes",
    ]
    assert await store.migrate() == []


async def test_a_failed_transaction_leaves_nothing_behind(store: Store, operator: Operator) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
            await tx.enqueue("telegram", "1", {"text": "hi"}, "k1", T0)
            raise RuntimeError("crash between writes")
    assert operator.rows("SELECT * FROM customers") == []
    assert operator.rows("SELECT * FROM outbox") == []


async def test_a_friend_can_be_referred_only_once(store: Store, operator: Operator) -> None:
    async with store.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        await tx.insert_customer(customer(2, "BBBBBBBBBBBB"))
        await tx.insert_referral(referral("r1", 1, 99))
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with store.transaction() as tx:
            await tx.insert_referral(referral("r2", 2, 99))
    rows = operator.rows("SELECT id, referrer_id FROM referrals")
    assert rows == [{"id": "r1", "referrer_id": 1}]


async def test_inbound_ids_and_outbox_keys_are_taken_once(store: Store, operator: Operator) -> None:
    async with store.transaction() as tx:
        assert await tx.claim_inbound("tg:7", T0) is True
        assert await tx.claim_inbound("tg:7", T0) is False
        assert await tx.enqueue("telegram", "1", {"text": "a"}, "same", T0) is True
        assert await tx.enqueue("telegram", "1", {"text": "b"}, "same", T0) is False
    rows = operator.rows("SELECT payload FROM outbox")
    assert [row["payload"] for row in rows] == ['{"text":"a"}']
    # A request that changes nothing else (a report) claims its id on its own; a unit of work then sees it taken.
    assert await store.claim_inbound("slack:command:U1:t1", T0) is True
    assert await store.claim_inbound("slack:command:U1:t1", T0) is False
    async with store.transaction() as tx:
        assert await tx.claim_inbound("slack:command:U1:t1", T0) is False


async def test_rows_sort_by_id_in_the_order_they_were_written(store: Store, operator: Operator) -> None:
    """Ids begin with the moment they were made, so an operator's `ORDER BY id` follows the audit trail."""
    for n in range(4):
        async with store.transaction() as tx:
            await tx.log_event("step", T0, actor=f"n{n}")
        await asyncio.sleep(0.002)
    rows = operator.rows("SELECT actor, id FROM events ORDER BY id")
    assert [row["actor"] for row in rows] == ["n0", "n1", "n2", "n3"]
    assert len({row["id"][12:] for row in rows}) == 4  # and the random part differs


async def test_leased_rows_are_not_handed_out_twice_until_the_lease_ends(store: Store) -> None:
    async with store.transaction() as tx:
        for n in range(3):
            await tx.enqueue("telegram", "1", {"n": n}, f"k{n}", T0)
    first = await store.claim_due(T0, 10, timedelta(seconds=60))
    assert [row.payload["n"] for row in first] == [0, 1, 2]
    assert await store.claim_due(T0 + timedelta(seconds=59), 10, timedelta(seconds=60)) == []
    await store.mark_sent({first[0].id: "m1"}, T0)
    again = await store.claim_due(T0 + timedelta(seconds=61), 10, timedelta(seconds=60))
    assert [(row.payload["n"], row.attempts) for row in again] == [(1, 2), (2, 2)]


async def test_an_alert_posted_with_a_send_is_recorded_in_the_send_s_own_commit(
    store: Store, operator: Operator
) -> None:
    """Where an alert was posted is written with the record of the send that posted it: one commit, not two.
    Until then it is not seen."""
    async with store.transaction() as tx:
        await tx.insert_customer(customer(1, "code1"))
        for referral_id in ("r1", "r2", "r3"):
            await tx.insert_referral(referral(referral_id, 1, None))
        await tx.enqueue("slack", "C1", {"kind": "alert", "referral_id": "r1"}, "alert:r1", T0)
    (row,) = await store.claim_due(T0, 10, timedelta(seconds=60))
    await store.remember_alerts(["r1"], "C1", "1700000000.000100", False, T0, with_send=True)
    assert await store.alert_message("r1") is None  # nothing committed yet: a crash here finds it in history
    await store.mark_sent({"no-such-row": None}, T0)  # any send's record carries it
    assert await store.alert_message("r1") == ("1700000000.000100", False)
    # r4 was erased meanwhile: its record is skipped, and the send's own record still commits
    await store.remember_alerts(["r2", "r3", "r4"], "C1", "1700000000.000200", True, T0, with_send=True)
    await store.mark_sent({row.id: "1700000000.000200"}, T0)
    assert await store.alert_message("r3") == ("1700000000.000200", True)
    assert await store.alert_message("r4") is None
    sent = operator.rows("SELECT status, platform_message_id FROM outbox")
    assert sent == [{"status": "sent", "platform_message_id": "1700000000.000200"}]


async def test_dead_rows_are_logged_for_operators(store: Store, operator: Operator) -> None:
    async with store.transaction() as tx:
        await tx.enqueue("telegram", "5", {"text": "x"}, "k", T0)
    (row,) = await store.claim_due(T0, 10, timedelta(seconds=60))
    await store.mark_dead(row.id, T0, "Forbidden: bot was blocked by the user")
    events = operator.rows("SELECT kind, subject, data FROM events")
    assert events == [
        {"kind": "outbox.dead", "subject": row.id, "data": '{"error":"Forbidden: bot was blocked by the user"}'}
    ]
    assert await store.claim_due(T0 + timedelta(days=1), 10, timedelta(seconds=60)) == []


async def test_erasing_a_person_takes_the_messages_that_name_them_by_whose_name_they_carry(
    store: Store, operator: Operator
) -> None:
    async with store.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        assert await tx.enqueue("telegram", "2", {"text": "Jo joined"}, "thanks", T0, about=[person(1)]) is True
        assert await tx.enqueue("telegram", "2", {"text": "Jo joined"}, "thanks", T0, about=[person(1)]) is False
        await tx.enqueue("telegram", "2", {"text": "Welcome, Ana"}, "welcome", T0, about=[person(2)])
    assert operator.count("outbox_subjects") == 2
    async with store.transaction() as tx:  # no text to search for: only the recorded subject finds the thank-you
        erased = await tx.erase_person(1, -1, "~0", contacts=[], personal=[], at=T0)
    assert erased.messages_dropped == 1
    assert operator.rows("SELECT dedupe_key FROM outbox") == [{"dedupe_key": "welcome"}]
    assert operator.rows("SELECT subject FROM outbox_subjects") == [{"subject": person(2)}]


async def test_parked_updates_are_kept_in_order_and_erasing_a_person_takes_theirs(store: Store) -> None:
    await store.park_update(ParkedUpdate(9, 1, '{"update_id": 9}', 1), T0)
    await store.park_update(ParkedUpdate(7, 2, '{"update_id": 7}', 1), T0)
    await store.park_update(ParkedUpdate(9, 1, '{"update_id": 9}', 3), T0)  # another failed attempt
    assert [(u.update_id, u.attempts) for u in await store.parked_updates()] == [(7, 1), (9, 3)]
    async with store.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
    async with store.transaction() as tx:
        await tx.erase_person(1, -1, "~0", contacts=[], personal=[], at=T0)  # what they sent goes with them
    assert [u.update_id for u in await store.parked_updates()] == [7]
    await store.unpark_update(7)
    assert await store.parked_updates() == []


async def test_sqlite_is_durable_by_default(tmp_path: Path) -> None:
    opened = await SQLiteStore.open(str(tmp_path / "d.db"))
    await opened.migrate()
    await opened.close()
    with sqlite3.connect(tmp_path / "d.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = await SQLiteStore.open(str(tmp_path / "d.db"))
    rows = await reopened._writer.fetch_all("PRAGMA synchronous")  # per connection: the one that commits
    await reopened.close()
    assert list(rows[0].values()) == [2]  # FULL


# --- Several instances on one database -------------------------------------------------------------


async def test_instances_claiming_at_once_send_each_row_once_and_each_chat_in_order(open_more: Opener) -> None:
    first, second = await open_more(), await open_more()
    async with first.transaction() as tx:
        for n in range(40):
            await tx.enqueue("telegram", str(n % 4), {"n": n}, f"k{n}", T0)
    lease = timedelta(seconds=60)
    claims = await asyncio.gather(*(store.claim_due(T0, 5, lease) for store in (first, second) for _ in range(4)))
    claimed = [row for claim in claims for row in claim]
    assert len({row.id for row in claimed}) == len(claimed)  # never handed out twice
    by_chat: dict[str, list[int]] = {}
    for row in claimed:
        by_chat.setdefault(row.chat_id, []).append(row.payload["n"])
    for chat, numbers in by_chat.items():
        # Whatever was handed out of a chat is its oldest rows: nothing overtook a row still waiting.
        assert sorted(numbers) == list(range(int(chat), int(chat) + 4 * len(numbers), 4))


async def test_an_sla_timer_is_claimed_by_one_instance_only(open_more: Opener) -> None:
    first, second = await open_more(), await open_more()
    async with first.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        for n in range(10):
            await tx.insert_referral(referral(f"r{n}", 1, 100 + n))
            await tx.add_timer(f"r{n}", "claim_nudge", T0, T0)
    lease = timedelta(seconds=60)
    claims = await asyncio.gather(*(store.claim_due_timers(T0, 3, lease) for store in (first, second) * 3))
    ids = [timer.referral_id for claim in claims for timer in claim]
    assert sorted(ids) == sorted(f"r{n}" for n in range(10))
    assert await second.claim_due_timers(T0 + timedelta(seconds=59), 10, lease) == []  # leased, not lost
    assert len(await first.claim_due_timers(T0 + timedelta(seconds=61), 10, lease)) == 10  # the lease ran out


async def test_coupon_codes_are_handed_out_once_across_instances(open_more: Opener, operator: Operator) -> None:
    first, second = await open_more(), await open_more()
    async with first.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        for n in range(8):
            await tx.insert_referral(referral(f"r{n}", 1, 100 + n))
            await tx.insert_reward(Reward(f"reward{n}", f"r{n}", 1, "referrer", "10% off", "pending", T0, T0))
        for n in range(6):
            await tx.add_coupon("welcome", f"CODE{n}", T0)

    async def take(store: Store, n: int) -> str | None:
        async with store.transaction() as tx:
            return await tx.take_coupon("welcome", f"reward{n}", T0)

    codes = await asyncio.gather(*(take((first, second)[n % 2], n) for n in range(8)))
    handed = [code for code in codes if code is not None]
    assert sorted(handed) == [f"CODE{n}" for n in range(6)]  # six distinct codes, then the pool is empty
    rows = operator.rows("SELECT COUNT(*) AS n FROM coupon_codes WHERE status = 'available'")
    assert rows[0]["n"] == 0


async def test_two_instances_cannot_both_move_a_referral_on(open_more: Opener, operator: Operator) -> None:
    first, second = await open_more(), await open_more()
    async with first.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        await tx.insert_referral(referral("r1", 1, 99))

    async def claim(store: Store, rep: str) -> bool:
        async with store.transaction() as tx:
            current = await tx.referral("r1")
            assert current is not None
            await asyncio.sleep(0.05)  # both read before either writes, unless the read waited for the other
            if current.status != "new":
                return False
            await tx.update_referral("r1", status="claimed", assignee=rep)
            return True

    won = await asyncio.gather(claim(first, "U0RITA"), claim(second, "U0SAM"))
    assert sorted(won) == [False, True]
    (row,) = operator.rows("SELECT status, assignee FROM referrals")
    assert row["assignee"] == ("U0RITA" if won[0] else "U0SAM")
