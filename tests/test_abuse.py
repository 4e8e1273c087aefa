"""Abuse: /start farming from one account, and guessing referral codes."""

from __future__ import annotations

from bot.core.engine import Engine
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, eventually
from helpers import start


async def test_one_account_flooding_the_bot_is_slowed_down_once_and_then_ignored(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    farmer = telegram.user(6666, "Farmer")
    for _ in range(45):
        await telegram.send_command(farmer, "start")
    await eventually(lambda: telegram.pending_updates() == 0, timeout=15)
    await telegram.send_command(telegram.user(1001, "Ana"), "help")  # others are served as usual
    await telegram.wait_for_messages(1001, 1)
    texts = [m.text for m in await telegram.wait_for_messages(6666, 31)]
    assert sum(t.startswith(("Hi Farmer", "Welcome back, Farmer")) for t in texts) == 30
    assert sum(t.startswith("Whoa, that is a lot of messages") for t in texts) == 1
    assert len(telegram.messages(6666)) == 31
    assert operator.count("customers WHERE telegram_id = 6666") == 1


async def test_someone_guessing_codes_gets_no_referral_even_with_a_real_code(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    eve = telegram.user(6001, "Eve")
    for guess in ("AAAAAAAAAAAA", "AAAAAAAAAAAB", "AAAAAAAAAAAC", "AAAAAAAAAAAD", "AAAAAAAAAAAE"):
        await telegram.open_deep_link(eve, guess)
    await telegram.wait_for_messages(6001, 5)
    await telegram.open_deep_link(eve, code)  # a hit after a run of misses
    sixth = (await telegram.wait_for_messages(6001, 6))[5]
    assert sixth.text.startswith("Welcome back, Eve!") and "Ana" not in sixth.text  # nothing learned
    assert operator.count("referrals") == 0
    assert operator.count("events WHERE kind = 'deeplink.throttled'") == 1
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)  # an honest friend is not affected
    await telegram.wait_for_messages(2001, 1)
    assert operator.count("referrals") == 1
