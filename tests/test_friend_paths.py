"""One referrer per friend across paths: a friend a customer named with /refer who reaches the bot through someone
else's link is the same person, and `[attribution]` (model and window) decides who has the credit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser

from conftest import ALERTS, Operator, eventually, team_bot
from helpers import converse, current, said, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


def attribution(program: Program, **changes: Any) -> Program:
    return program.model_copy(update={"attribution": program.attribution.model_copy(update=changes)})


@pytest.fixture
async def bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Engine]:
    """The team bot with the example program, or with the attribution model a test names."""
    rules = attribution(program, model=getattr(request, "param", "first_touch"))
    async with team_bot(telegram, slack, rules, clock, operator.database) as running:
        yield running


last_touch = pytest.mark.parametrize("bot", ["last_touch"], indirect=True)


async def refer_directly(telegram: TelegramEmulator, referrer: FakeUser, name: str, contact: str) -> str:
    """/refer, the friend's name and contact, no note, and "yes, they agreed"; what the bot answers at the end."""
    before = len(telegram.messages(referrer.id))
    await telegram.send_command(referrer, "refer")
    await telegram.wait_for_messages(referrer.id, before + 1)
    _, ask_note = await converse(telegram, referrer.id, name, contact)
    if "Anything our team should know" not in ask_note.text:
        return ask_note.text  # refused at the contact
    await telegram.press_button(referrer, ask_note, "d:skip")
    confirm = (await telegram.wait_for_messages(referrer.id, before + 4))[before + 3]
    await telegram.press_button(referrer, confirm, "d:yes")
    return (await telegram.wait_for_messages(referrer.id, before + 5))[before + 4].text


async def thread_line(slack: SlackEmulator, alert: SlackMessage, opening: str) -> str:
    """The line in the alert's thread that opens with `opening` (SLA nudges may be there too)."""

    def found() -> list[str]:
        return [m.text for m in slack.thread(ALERTS, alert.ts) if m.text.startswith(opening)]

    await slack.wait_for(lambda: bool(found()), what=f"a thread line opening with {opening!r}")
    return found()[0]


def referrals(operator: Operator) -> list[dict[str, Any]]:
    sql = "SELECT referrer_id, friend_telegram_id, source, status FROM referrals ORDER BY created_at"
    return operator.rows(sql)


async def test_a_friend_named_by_username_who_opens_another_link_stays_the_first_referrers(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    done = await refer_directly(telegram, telegram.user(1001, "Ana"), "Bea", "@Bea_Brew")
    assert done.startswith("Thank you! We will contact Bea soon.")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert "*Contact:* @bea_brew (agreed to be contacted, on Ana's word: Bea has not confirmed it yet)" in alert.plain()
    await start(telegram, 1002, "Cal")
    refused = await refer_directly(telegram, telegram.user(1002, "Cal"), "Bea", "@bea_BREW")
    assert "has been referred already" in refused  # usernames are one person in any case
    clock.advance(timedelta(days=29))
    bea = telegram.user(2001, "Bea", username="BEA_brew", language_code="es")
    await telegram.open_deep_link(bea, dan_code)
    welcome, question = await telegram.wait_for_messages(2001, 2)
    assert welcome.text.startswith("¡Te damos la bienvenida a Acme Coffee, Bea! Ana te invitó.")
    assert question.text.startswith("Ana nos dio tu contacto (@bea_brew)")
    line = await thread_line(slack, alert, ":wave:")
    assert line == (
        ":wave: Bea, whom Ana referred directly, has reached the bot through Dan's link. The credit stays with *Ana*:"
        " first touch, within 30 days."
    )
    assert referrals(operator) == [
        {"referrer_id": 1001, "friend_telegram_id": 2001, "source": "direct", "status": "new"}
    ]
    assert len(slack.messages(ALERTS)) == 1 and len(telegram.messages(1003)) == 1  # no second alert, no thanks to Dan
    rewards = operator.rows("SELECT role, customer_id FROM rewards ORDER BY role")
    assert rewards == [{"role": "friend", "customer_id": 2001}, {"role": "referrer", "customer_id": 1001}]
    await eventually(lambda: "Message friend" in [b["text"] for b in current(slack, alert).buttons()])


async def test_once_the_window_has_run_out_the_next_link_takes_the_credit_and_keeps_it_for_its_own_window(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    eve_code, _ = await start(telegram, 1004, "Eve")
    await refer_directly(telegram, telegram.user(1001, "Ana"), "Bea", "@bea_brew")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    clock.advance(timedelta(days=31))
    bea = telegram.user(2001, "Bea", username="Bea_Brew")
    await telegram.open_deep_link(bea, dan_code)
    await telegram.wait_for_messages(2001, 2)  # the welcome, and whether she agreed to be contacted
    assert (await said(telegram, 1003, "Thank you, Dan!")).startswith("Thank you, Dan! Bea just joined Acme Coffee")
    line = await thread_line(slack, alert, ":wave:")
    assert line.endswith("The credit moves to *Dan*: Ana's credit had run out after 30 days.")
    assert referrals(operator) == [{"referrer_id": 1003, "friend_telegram_id": 2001, "source": "link", "status": "new"}]
    assert operator.rows("SELECT customer_id FROM rewards WHERE role = 'referrer'") == [{"customer_id": 1003}]
    await eventually(lambda: "was referred by *Dan*" in current(slack, alert).plain())
    clock.advance(timedelta(days=9))  # Dan's credit runs from the move: 9 days old, it stays
    before = len(telegram.messages(2001))
    await telegram.open_deep_link(bea, eve_code)
    assert (await telegram.wait_for_messages(2001, before + 1))[before].text.startswith("Welcome back, Bea!")
    assert referrals(operator)[0]["referrer_id"] == 1003 and len(telegram.messages(1004)) == 1


@last_touch
async def test_with_last_touch_the_newest_link_takes_the_credit_however_old_the_first(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    ana_code, _ = await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    ben = telegram.user(2001, "Ben")
    await telegram.open_deep_link(ben, ana_code)
    await telegram.wait_for_messages(2001, 1)
    clock.advance(timedelta(days=45))  # past the window: before, the credit stayed with Ana
    await telegram.open_deep_link(ben, dan_code)
    assert (await said(telegram, 1003, "Thank you, Dan!")).startswith("Thank you, Dan! Ben just joined")
    assert referrals(operator) == [{"referrer_id": 1003, "friend_telegram_id": 2001, "source": "link", "status": "new"}]


@last_touch
async def test_with_last_touch_a_named_friend_who_opens_a_link_moves_the_credit_at_once(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    await refer_directly(telegram, telegram.user(1001, "Ana"), "Bea", "@bea_brew")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    await telegram.open_deep_link(telegram.user(2001, "Bea", username="bea_brew", language_code="fa"), dan_code)
    welcome, question = await telegram.wait_for_messages(2001, 2)
    assert "Dan شما را دعوت کرده است" in welcome.text
    assert question.text.startswith("\u200fAna راه تماس شما (@bea_brew) را به ما داد")  # Ana typed the contact
    assert [b["text"] for b in question.buttons()] == ["✅ بله، با من تماس بگیرید", "🚫 نه، موافقت نکرده‌ام"]
    line = await thread_line(slack, alert, ":wave:")
    assert line.endswith("The credit moves to *Dan*: with last touch, the newest link wins.")
    assert referrals(operator) == [{"referrer_id": 1003, "friend_telegram_id": 2001, "source": "link", "status": "new"}]


async def test_a_friend_who_shares_the_phone_a_customer_typed_merges_into_one_referral(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    await refer_directly(telegram, telegram.user(1001, "Ana"), "Bea", "+34 600 111 222")
    (typed_alert,) = await slack.wait_for_messages(ALERTS, 1)
    clock.advance(timedelta(days=2))
    bea = telegram.user(2001, "Bea")
    await telegram.open_deep_link(bea, dan_code)  # no username: nothing tells yet that she is Ana's Bea
    link_alert = (await slack.wait_for_messages(ALERTS, 2))[1]
    assert "Bea was referred by *Dan*" in link_alert.plain()
    await telegram.share_contact(bea, phone_number="34600111222")  # Telegram sends it without the +
    await said(telegram, 2001, "Our team will be in touch soon")
    kept = await thread_line(slack, link_alert, ":link:")
    assert kept == (
        ":link: Bea shared their phone number, the one Ana gave when referring them directly: one person, so that"
        " referral is closed as a duplicate and this one carries on. The credit moves to *Ana* (first touch,"
        " 30-day window)."
    )
    closed = await thread_line(slack, typed_alert, ":link:")
    assert closed.startswith(":link: Closed as a duplicate: this is Bea, who reached the bot through another referral")
    await eventually(lambda: "Bea was referred by *Ana*" in current(slack, link_alert).plain())
    card = current(slack, link_alert).plain()
    assert "*Contact:* +34600111222 (agreed to be contacted, confirmed by Bea on " in card
    rows = operator.rows(
        "SELECT referrer_id, friend_telegram_id, friend_contact, status FROM referrals ORDER BY created_at"
    )
    assert rows == [
        {"referrer_id": 1001, "friend_telegram_id": None, "friend_contact": "+34600111222", "status": "rejected"},
        {"referrer_id": 1001, "friend_telegram_id": 2001, "friend_contact": "+34600111222", "status": "new"},
    ]
    rewards = operator.rows("SELECT customer_id, status FROM rewards WHERE role = 'referrer' ORDER BY created_at")
    assert rewards == [{"customer_id": 1001, "status": "revoked"}, {"customer_id": 1001, "status": "pending"}]
    assert operator.rows("SELECT phone FROM customers WHERE telegram_id = 2001") == [{"phone": "+34600111222"}]


async def test_contacts_an_older_version_stored_are_normalised_when_the_bot_migrates(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    ana = telegram.user(1001, "Ana")
    async with team_bot(telegram, slack, program, clock, operator.database):
        await start(telegram, 1001, "Ana")
        await telegram.share_contact(ana, phone_number="34600111222")
        await said(telegram, 1001, "Our team will be in touch soon")
        await refer_directly(telegram, ana, "Bea", "@bea_brew")
    # As the version before stored them: the username as typed, Telegram's phone without its +.
    operator.execute("UPDATE referrals SET friend_contact = '@Bea_Brew'")
    operator.execute("UPDATE customers SET phone = '34600111222' WHERE telegram_id = 1001")
    for column in ("credited_at", "friend_confirmed_at", "friend_declined_at"):
        operator.execute(f"ALTER TABLE referrals DROP COLUMN {column}")
    operator.execute("DELETE FROM schema_migrations WHERE version = 21")
    async with team_bot(telegram, slack, program, clock, operator.database):
        assert operator.rows("SELECT friend_contact FROM referrals") == [{"friend_contact": "@bea_brew"}]
        assert operator.rows("SELECT phone FROM customers") == [{"phone": "+34600111222"}]
        await telegram.send_command(telegram.user(2001, "Bea", username="Bea_Brew"), "start")
        welcome, _ = await telegram.wait_for_messages(2001, 2)
        assert welcome.text.startswith("Welcome to Acme Coffee, Bea! Ana invited you.")
        assert "That is you, Ana!" in await refer_directly(telegram, ana, "Me", "+34 600 111 222")
