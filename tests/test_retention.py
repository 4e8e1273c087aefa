"""RETENTION_DAYS: what the bot has finished with goes once it is old, and nothing it still needs does: unsent and
dead messages, Slack messages `forget` may redact, a referral's trail, the Home tab's readers, replay protection
within its window, and every figure a manager reads."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.models import Customer, Referral
from bot.core.pruner import Pruner
from bot.core.retention import KEPT_EVENT_KINDS, START, Mark, Table, cutoffs
from bot.delivery.outbox import Dispatcher
from bot.team.alerts import HOME_OPENED
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import Store, open_store

from conftest import ALERTS, MAYA, RITA, Operator, eventually
from helpers import ask, home_text, open_home, run, scrape, start, value

BACKENDS = ("sqlite", "postgresql")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=100)  # past the default 90 days
LEASE = timedelta(seconds=60)


@pytest.fixture
async def store(operator: Operator) -> AsyncIterator[Store]:
    opened = await open_store(operator.url)
    await opened.migrate()
    yield opened
    await opened.close()


async def prune_all(store: Store, table: Table, before: datetime, batch: int, mark: Mark = START) -> tuple[int, Mark]:
    """Batches until the scan reaches the cutoff, as the bot's prune runs them: rows removed, and the final mark."""
    removed = 0
    while True:
        step = await store.prune(table, before, mark, batch)
        removed, mark = removed + step.removed, step.mark
        if step.done:
            return removed, mark


async def queue(store: Store, key: str, platform: str, payload: dict[str, str]) -> str:
    """Queue a row in a chat of its own and lease it, as the dispatcher would; returns its id."""
    async with store.transaction() as tx:
        await tx.enqueue(platform, key, payload, key, T0)
    (row,) = await store.claim_due(T0, 1, LEASE, platform)
    return row.id


async def old_history(store: Store, operator: Operator) -> None:
    """What 100 days ago left behind: messages in every state, audit events and processed ids."""
    sent = await queue(store, "welcome", "telegram", {"text": "Welcome, Ana!"})
    alert = await queue(store, "alert:r1", "slack", {"kind": "alert", "referral_id": "r1"})
    thread = await queue(store, "audit", "slack", {"kind": "thread", "referral_id": "r1", "text": "Ben wrote: hi"})
    await store.mark_sent({sent: "11", alert: "1700000000.000100", thread: "1700000000.000200"}, T0)
    await store.mark_dead(await queue(store, "blocked", "telegram", {"text": "Thanks!"}), T0, "Forbidden")
    await queue(store, "in-flight", "telegram", {"text": "Sending now"})  # leased, its send under way
    async with store.transaction() as tx:
        await tx.enqueue("telegram", "7", {"text": "Retrying"}, "waiting", T0)
        await tx.insert_customer(Customer(1001, "Ana", None, "ana", "en", "customer", "AAAAAAAAAAAA", "a", T0, T0))
        await tx.insert_referral(Referral("r1", 1001, "link", "link", "new", T0, T0, friend_telegram_id=2001))
        await tx.log_event("referral.created", T0, actor="tg:2001", subject="r1")
        await tx.log_event("customer.registered", T0, actor="tg:1001", segment="customer")
        await tx.log_event(HOME_OPENED, T0, actor=f"slack:{MAYA}")
        assert await tx.claim_inbound("tg:1", T0)
        await tx.claim_request_key("crm:deal-1", "first", T0)
    for outbox_id in (sent, thread):  # whose names they carry, for `forget` (migration 0014)
        operator.execute("INSERT INTO outbox_subjects (subject, outbox_id) VALUES (?, ?)", "tg:1001", outbox_id)
    mail = await queue(store, "mail", "email", {"subject": "Welcome"})
    assert await store.begin_email(mail, T0)  # its SMTP exchange began, then it was recorded sent
    await store.mark_sent({mail: "<mail@acme.example>"}, T0)


async def test_old_finished_rows_go_and_what_is_still_needed_stays(store: Store, operator: Operator) -> None:
    await old_history(store, operator)
    async with store.transaction() as tx:
        await tx.enqueue("telegram", "1001", {"text": "Recent"}, "recent", LATER)
        await tx.log_event("customer.registered", LATER, actor="tg:3001", segment="customer")
        assert await tx.claim_inbound("tg:2", LATER)
    until = cutoffs(90, LATER)
    removed = {table: (await prune_all(store, table, until[table], batch=2))[0] for table in until}
    assert removed == {"outbox": 3, "events": 2, "processed_inbound": 1, "request_keys": 1}
    kept = operator.rows("SELECT dedupe_key, status FROM outbox ORDER BY dedupe_key")
    assert kept == [
        {"dedupe_key": "audit", "status": "sent"},  # quotes a person: `forget` redacts it in Slack
        {"dedupe_key": "blocked", "status": "dead"},  # a dead letter, until someone deals with it
        {"dedupe_key": "in-flight", "status": "sending"},
        {"dedupe_key": "recent", "status": "pending"},
        {"dedupe_key": "waiting", "status": "pending"},
    ]
    assert operator.rows("SELECT kind FROM events ORDER BY kind") == [
        {"kind": "customer.registered"},  # the recent one
        {"kind": "referral.created"},  # the referral's trail and the CSV export read it for all time
        {"kind": "slack.home_opened"},  # who gets Home tab refreshes, read for all time
    ]
    assert operator.rows("SELECT id FROM processed_inbound") == [{"id": "tg:2"}]
    assert operator.count("request_keys") == 0
    assert operator.rows("SELECT subject FROM outbox_subjects") == [{"subject": "tg:1001"}]  # the thread line's
    assert operator.count("email_attempts") == 0  # gone with the sent mail
    assert await store.dead_letters() == 1


async def test_a_pass_goes_on_from_where_the_last_one_stopped(store: Store, operator: Operator) -> None:
    """Rows kept whatever their age are passed once: the next pass starts after them and finds nothing to read."""
    await old_history(store, operator)
    until = cutoffs(90, LATER)["events"]
    removed, mark = await prune_all(store, "events", until, batch=1)
    assert removed == 2 and mark != START
    step = await store.prune("events", until, mark, 1)
    assert (step.removed, step.mark, step.done) == (0, mark, True)
    async with store.transaction() as tx:
        await tx.log_event("ask.sent", LATER, actor="bot", subject="1001")
    (asked,) = operator.rows("SELECT created_at, id FROM events WHERE kind = 'ask.sent'")
    later = cutoffs(90, LATER + timedelta(days=91))["events"]
    assert await prune_all(store, "events", later, batch=1, mark=mark) == (1, (asked["created_at"], asked["id"]))


async def test_replay_protection_outlives_a_shorter_retention(store: Store) -> None:
    """With RETENTION_DAYS=1 an update id and a CRM key still count as seen for 7 days."""
    async with store.transaction() as tx:
        assert await tx.claim_inbound("tg:7", T0)
        assert await tx.claim_request_key("crm:deal-1", "first", T0) == "first"
    for days_later, seen in ((2, True), (6, True), (8, False)):
        until = cutoffs(1, T0 + timedelta(days=days_later))
        for table in ("processed_inbound", "request_keys"):
            await prune_all(store, table, until[table], batch=500)
        async with store.transaction() as tx:
            assert await tx.claim_inbound("tg:7", T0) is not seen  # a replay is refused while it is seen
            first = await tx.claim_request_key("crm:deal-1", "other", T0)
            assert (first == "first") is seen  # and a reused CRM key with other parameters too


def test_the_home_tab_readers_are_kept() -> None:
    assert HOME_OPENED in KEPT_EVENT_KINDS


# --- Through the running bot -----------------------------------------------------------------------


# Messages still to go out, but for Home tab refreshes: those wait for the end of their window.
UNSENT = "outbox WHERE status IN ('pending', 'sending') AND platform <> 'slack_home'"
GROWING: tuple[Table, ...] = ("outbox", "events", "processed_inbound")


async def history_with_a_dead_letter(telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator) -> str:
    """Maya looks at her Home tab; Ana refers Ben and then blocks the bot; Rita converts Ben. Returns Ana's code."""
    await open_home(slack, MAYA)
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    telegram.block_bot(1001)
    for action in ("referral_claim", "referral_contacted", "referral_converted"):
        await slack.click(RITA, alert, action)
    (modal,) = slack.views(RITA)
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "950"}})
    await eventually(lambda: operator.count("referrals WHERE status = 'converted'") == 1)
    await eventually(lambda: operator.count(UNSENT) == 0)
    assert operator.count("outbox WHERE status = 'dead'") >= 1  # what Ana was to be told
    return code


async def refreshed_home(team: Engine, slack: SlackEmulator, clock: FakeClock, friend: str) -> None:
    """The window of Maya's Home tab refresh ends, and she sees the friend waiting."""
    clock.advance(timedelta(minutes=1))
    team.part(Dispatcher).wake()
    await slack.wait_for(lambda: f"{friend} (from Ana)" in home_text(slack, MAYA), what=f"{friend} on the Home tab")


def still_needed(operator: Operator) -> dict[str, int]:
    """Rows the prune must leave, however old: counted before and after."""
    (ben,) = operator.rows("SELECT id FROM referrals WHERE friend_telegram_id = 2001")
    return {
        "Ben's trail": operator.count(f"events WHERE subject = '{ben['id']}'"),
        "thread lines": operator.count('outbox WHERE payload LIKE \'{"kind":"thread"%\''),
        "dead letters": operator.count("outbox WHERE status = 'dead'"),
    }


async def exported(slack: SlackEmulator) -> list[dict[str, str]]:
    before = len(slack.files(slack.dm_channel(MAYA)))
    await ask(slack, MAYA, "export all")
    await slack.wait_for(lambda: len(slack.files(slack.dm_channel(MAYA))) > before, what="the CSV")
    content = slack.files(slack.dm_channel(MAYA))[-1].content.decode()
    return list(csv.DictReader(io.StringIO(content)))


async def test_a_prune_in_the_running_bot_frees_rows_and_changes_nothing_anyone_reads(
    team: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    clock: FakeClock,
    operator: Operator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="bot.core.pruner")
    code = await history_with_a_dead_letter(telegram, slack, operator)
    clock.advance(timedelta(days=91))
    cal = await telegram.open_deep_link(telegram.user(2002, "Cal"), code)  # a recent arrival
    await slack.wait_for_messages(ALERTS, 2)
    await refreshed_home(team, slack, clock, "Cal")
    await eventually(lambda: operator.count(UNSENT) == 0)
    figures = [await ask(slack, MAYA, "stats all"), await ask(slack, MAYA, "top")]
    assert "could not be delivered (dead letters)" in figures[0] and "Ana: 1 converted of 2 referred" in figures[1]
    trail = await exported(slack)
    before, needed = {table: operator.count(table) for table in GROWING}, still_needed(operator)

    removed = await team.part(Pruner).prune()

    assert all(removed[table] > 0 and operator.count(table) == before[table] - removed[table] for table in GROWING)
    assert f"pruned what is older than RETENTION_DAYS=90: outbox {removed['outbox']}" in caplog.text
    cutoff = (clock.now() - timedelta(days=90)).isoformat()
    assert operator.count(f"outbox WHERE platform = 'telegram' AND sent_at < '{cutoff}'") == 0
    assert operator.count(f"processed_inbound WHERE processed_at < '{cutoff}'") == 0
    assert operator.count(f"events WHERE kind = 'customer.registered' AND created_at < '{cutoff}'") == 0
    assert still_needed(operator) == needed
    samples = await scrape(team)
    assert value(samples, "referral_bot_pruned_rows_total", table="outbox") == removed["outbox"]

    await telegram.replay(cal)  # Telegram delivers Cal's arrival again: still seen, so nothing happens twice
    await eventually(lambda: telegram.pending_updates() == 0 and telegram.confirmed_offset > cal)
    assert operator.count("referrals WHERE friend_telegram_id = 2002") == 1
    assert len(telegram.messages(2002)) == 1
    assert [await ask(slack, MAYA, "stats all"), await ask(slack, MAYA, "top")] == figures
    assert await exported(slack) == trail
    # Maya opened her Home tab long ago: it is still refreshed as referrals arrive.
    await telegram.open_deep_link(telegram.user(2003, "Dan"), code)
    await slack.wait_for_messages(ALERTS, 3)
    await refreshed_home(team, slack, clock, "Dan")


async def test_an_operator_prunes_on_demand_beside_the_bot(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    """`referral-bot prune` runs on real time, long after the test clock's day."""
    assert datetime.now(UTC) - clock.now() > timedelta(days=91)
    await history_with_a_dead_letter(telegram, slack, operator)
    folder, database = operator.path.parent, operator.url
    code, out, _ = await run(folder, "prune", DATABASE_URL=database)
    assert code == 0 and out.startswith("pruned what is older than 90 days: outbox ")
    assert operator.count("outbox WHERE platform = 'telegram' AND status = 'sent'") == 0
    again = (await run(folder, "prune", DATABASE_URL=database))[1]
    assert again.strip() == "pruned what is older than 90 days: outbox 0, events 0, processed_inbound 0, request_keys 0"
    code, _, err = await run(folder, "prune", DATABASE_URL=database, RETENTION_DAYS="0")
    assert code == 2 and "RETENTION_DAYS is 0, which keeps everything: nothing was deleted" in err
    code, _, err = await run(folder, "prune", DATABASE_URL=database, RETENTION_DAYS="-1")
    assert code == 2 and "setting RETENTION_DAYS" in err
