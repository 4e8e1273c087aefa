"""The storage contract: every backend must pass these (SQLite today, more later)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Customer, Referral
from storage import SQLiteStore, Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Opener = Callable[[Path], Awaitable[Store]]


async def _sqlite(tmp: Path) -> Store:
    return await SQLiteStore.open(str(tmp / "contract.db"))


@pytest.fixture(params=[_sqlite], ids=["sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store = await request.param(tmp_path)
    await opened.migrate()
    yield opened
    await opened.close()


def customer(telegram_id: int, code: str) -> Customer:
    return Customer(telegram_id, "Ana", None, "ana", "en", "customer", code, "a", T0, T0)


def referral(referral_id: str, referrer: int, friend: int | None) -> Referral:
    return Referral(referral_id, referrer, "link", "link", "new", T0, T0, friend_telegram_id=friend)


async def test_migrations_are_recorded_and_applied_once(store: Store) -> None:
    rows = await store.fetch_all("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [row["name"] for row in rows] == [
        "0001_initial",
        "0002_team",
        "0003_slack_alerts",
        "0004_rewards",
        "0005_asks",
        "0006_feedback",
        "0007_report_indexes",
    ]
    assert await store.migrate() == []


async def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
            await tx.enqueue("telegram", "1", {"text": "hi"}, "k1", T0)
            raise RuntimeError("crash between writes")
    assert await store.fetch_all("SELECT * FROM customers") == []
    assert await store.fetch_all("SELECT * FROM outbox") == []


async def test_a_friend_can_be_referred_only_once(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.insert_customer(customer(1, "AAAAAAAAAAAA"))
        await tx.insert_customer(customer(2, "BBBBBBBBBBBB"))
        await tx.insert_referral(referral("r1", 1, 99))
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with store.transaction() as tx:
            await tx.insert_referral(referral("r2", 2, 99))
    rows = await store.fetch_all("SELECT id, referrer_id FROM referrals")
    assert rows == [{"id": "r1", "referrer_id": 1}]


async def test_inbound_ids_and_outbox_keys_are_taken_once(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.claim_inbound("tg:7", T0) is True
        assert await tx.claim_inbound("tg:7", T0) is False
        assert await tx.enqueue("telegram", "1", {"text": "a"}, "same", T0) is True
        assert await tx.enqueue("telegram", "1", {"text": "b"}, "same", T0) is False
    rows = await store.fetch_all("SELECT payload FROM outbox")
    assert [row["payload"] for row in rows] == ['{"text": "a"}']


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


async def test_dead_rows_are_logged_for_operators(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.enqueue("telegram", "5", {"text": "x"}, "k", T0)
    (row,) = await store.claim_due(T0, 10, timedelta(seconds=60))
    await store.mark_dead(row.id, T0, "Forbidden: bot was blocked by the user")
    events = await store.fetch_all("SELECT kind, subject, data FROM events")
    assert events == [
        {"kind": "outbox.dead", "subject": row.id, "data": '{"error": "Forbidden: bot was blocked by the user"}'}
    ]
    assert await store.claim_due(T0 + timedelta(days=1), 10, timedelta(seconds=60)) == []


async def test_sqlite_is_durable_by_default(tmp_path: Path) -> None:
    opened = await SQLiteStore.open(str(tmp_path / "d.db"))
    await opened.migrate()
    await opened.close()
    with sqlite3.connect(tmp_path / "d.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = await SQLiteStore.open(str(tmp_path / "d.db"))
    rows = await reopened.fetch_all("PRAGMA synchronous")
    await reopened.close()
    assert list(rows[0].values()) == [2]  # FULL
