"""Friends arriving through a link: attribution, thanks, contact consent, and every way it can go wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually, settings_for
from helpers import start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def test_a_friend_arrives_is_welcomed_and_the_referrer_thanked(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    (welcome,) = await telegram.wait_for_messages(2001, 1)
    assert "Welcome to Acme Coffee, Ben! Ana invited you." in welcome.text
    assert "15% off your first three deliveries" in welcome.text
    assert welcome.reply_markup is not None
    (row,) = welcome.reply_markup["keyboard"]
    assert row[0]["request_contact"] is True
    thanks = (await telegram.wait_for_messages(1001, 2))[1]
    assert thanks.text.startswith("Thank you, Ana! Ben just joined Acme Coffee")
    assert "Your reward: a free 1 kg bag of beans when your friend becomes a customer." in thanks.text
    (referral,) = operator.rows("SELECT * FROM referrals")
    assert (referral["referrer_id"], referral["friend_telegram_id"]) == (1001, 2001)
    assert (referral["source"], referral["status"], referral["flagged"]) == ("link", "new", 0)
    rewards = operator.rows("SELECT customer_id, role, status FROM rewards ORDER BY role")
    assert rewards == [
        {"customer_id": 2001, "role": "friend", "status": "pending"},
        {"customer_id": 1001, "role": "referrer", "status": "pending"},
    ]
    assert [e["kind"] for e in operator.rows("SELECT kind FROM events WHERE kind LIKE 'referral.%'")] == [
        "referral.created"
    ]


async def test_the_inline_card_link_is_recorded_as_an_inline_share(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), f"{code}_i")
    await telegram.wait_for_messages(2001, 1)
    assert operator.rows("SELECT source, channel FROM referrals") == [{"source": "inline_share", "channel": "inline"}]


async def test_the_friend_shares_their_own_phone_with_consent(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, clock: FakeClock
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    ben = telegram.user(2001, "Ben")
    await telegram.open_deep_link(ben, code)
    await telegram.wait_for_messages(2001, 1)
    await telegram.share_contact(ben, phone_number="+4915112345678", contact_user_id=9999)
    refused = (await telegram.wait_for_messages(2001, 2))[1]
    assert "share your own phone number" in refused.text
    assert operator.rows("SELECT phone FROM customers WHERE telegram_id = 2001") == [{"phone": None}]
    await telegram.share_contact(ben, phone_number="+4915112345678")
    saved = (await telegram.wait_for_messages(2001, 3))[2]
    assert "Our team will be in touch" in saved.text
    assert saved.reply_markup == {"remove_keyboard": True}
    (referral,) = operator.rows("SELECT friend_contact, friend_contact_kind, friend_consent_at FROM referrals")
    assert referral["friend_contact"] == "+4915112345678" and referral["friend_contact_kind"] == "phone"
    assert referral["friend_consent_at"] == clock.now().isoformat(timespec="microseconds")


async def test_opening_your_own_link_makes_no_referral(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(1001, "Ana"), code)
    own, again = (await telegram.wait_for_messages(1001, 3))[1:]
    assert own.text.startswith("That is your own link, Ana.")
    assert again.text.startswith("Welcome back, Ana!")
    assert operator.count("referrals") == 0


async def test_a_known_customer_is_never_referred(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await start(telegram, 1002, "Carl")
    await telegram.open_deep_link(telegram.user(1002, "Carl"), code)
    back = (await telegram.wait_for_messages(1002, 2))[1]
    assert back.text.startswith("Welcome back, Carl!")
    assert operator.count("referrals") == 0
    assert len(telegram.messages(1001)) == 1  # no thank-you for Ana


async def test_first_touch_keeps_the_first_referrer(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    ana_code, _ = await start(telegram, 1001, "Ana")
    dan_code, _ = await start(telegram, 1003, "Dan")
    ben = telegram.user(2001, "Ben")
    await telegram.open_deep_link(ben, ana_code)
    await telegram.open_deep_link(ben, dan_code)
    await telegram.wait_for_messages(2001, 2)
    assert operator.rows("SELECT referrer_id FROM referrals") == [{"referrer_id": 1001}]
    assert len(telegram.messages(1003)) == 1


@pytest.mark.parametrize(("days_later", "credited"), [(29, 1003), (31, 1003)])
async def test_last_touch_gives_the_credit_to_the_newest_link(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, tmp_path: Path, days_later: int, credited: int
) -> None:
    rules = program.model_copy(update={"attribution": program.attribution.model_copy(update={"model": "last_touch"})})
    operator = Operator(tmp_path / "last.db")
    async with await build_engine(settings_for(telegram, operator.database), rules, clock):
        ana_code, _ = await start(telegram, 1001, "Ana")
        dan_code, _ = await start(telegram, 1003, "Dan")
        ben = telegram.user(2001, "Ben")
        await telegram.open_deep_link(ben, ana_code)
        await telegram.wait_for_messages(2001, 1)
        clock.advance(timedelta(days=days_later))
        await telegram.open_deep_link(ben, dan_code)
        await telegram.wait_for_messages(2001, 2)
        assert operator.rows("SELECT referrer_id FROM referrals") == [{"referrer_id": credited}]
        assert operator.rows("SELECT customer_id FROM rewards WHERE role = 'referrer'") == [{"customer_id": credited}]
        dan_messages = await telegram.wait_for_messages(1003, 2 if credited == 1003 else 1)
        assert dan_messages[-1].text.startswith("Thank you, Dan! Ben just joined" if credited == 1003 else "Hi Dan")


async def test_unknown_and_malformed_codes_get_the_normal_welcome(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    opened = ["ZZZZZZZZZZZZ", "abc", "x" * 64, "AAAAAAAAAAAA_z"]  # well-formed for Telegram, not ours
    typed = ["<script>alert(1)</script>", "%00'; DROP TABLE customers;--", "y" * 3000]  # "/start ..." typed by hand
    for n, payload in enumerate(opened + typed):
        person = telegram.user(2100 + n, "Eve")
        if payload in opened:
            await telegram.open_deep_link(person, payload)
        else:
            await telegram.send_command(person, "start", payload)
        (welcome,) = await telegram.wait_for_messages(2100 + n, 1)
        assert welcome.text.startswith("Hi Eve, welcome to the Acme Coffee referral program!")
        assert "Who is a great fit" in welcome.text
    assert operator.count("referrals") == 0
    assert len(operator.rows("SELECT * FROM events WHERE kind = 'deeplink.unknown'")) == 7
    assert len(telegram.messages(1001)) == 1


async def test_arrivals_past_the_velocity_limit_are_flagged_and_rewards_held(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, tmp_path: Path
) -> None:
    rules = program.model_copy(update={"limits": program.limits.model_copy(update={"velocity_per_hour": 2})})
    operator = Operator(tmp_path / "v.db")
    async with await build_engine(settings_for(telegram, operator.database), rules, clock):
        code, _ = await start(telegram, 1001, "Ana")
        for n in range(3):
            await telegram.open_deep_link(telegram.user(2001 + n, f"Friend{n}"), code)
            await telegram.wait_for_messages(2001 + n, 1)
        held_thanks = (await telegram.wait_for_messages(1001, 4))[3]
        assert "on hold while our team reviews" in held_thanks.text
        flags = operator.rows(
            "SELECT friend_telegram_id, flagged, flag_reason FROM referrals ORDER BY created_at, rowid"
        )
        assert [(f["flagged"], f["flag_reason"]) for f in flags] == [(0, None), (0, None), (1, "velocity")]
        held = operator.rows("SELECT customer_id, role FROM rewards WHERE status = 'held' ORDER BY role")
        assert held == [{"customer_id": 2003, "role": "friend"}, {"customer_id": 1001, "role": "referrer"}]
        clock.advance(timedelta(hours=1, seconds=1))
        await telegram.open_deep_link(telegram.user(2010, "Later"), code)
        await telegram.wait_for_messages(2010, 1)
        await eventually(lambda: operator.count("referrals") == 4)
        assert operator.rows("SELECT flagged FROM referrals WHERE friend_telegram_id = 2010") == [{"flagged": 0}]


async def test_a_replayed_update_has_no_second_effect(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    update_id = await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    await telegram.wait_for_messages(1001, 2)
    await telegram.replay(update_id)
    await eventually(lambda: telegram.pending_updates() == 0 and telegram.confirmed_offset > update_id)
    await telegram.send_command(telegram.user(2001, "Ben"), "help")  # a later update proves the replay was handled
    await telegram.wait_for_messages(2001, 2)
    assert operator.count("referrals") == 1
    assert operator.count("rewards") == 2
    assert len(telegram.messages(1001)) == 2
    assert next(m.text.split("\n")[0] for m in telegram.messages(2001)).startswith("Welcome to Acme Coffee, Ben!")
