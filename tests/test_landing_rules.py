"""A friend's details left on the landing page follow the rules of every other arrival: an existing customer is
nobody's new referral, a friend has one referrer (the attribution rule may move the credit), and a burst waits for
the managers' review. The page never tells the visitor which rule applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, Operator, eventually, team_bot
from helpers import LANDING, on_landing, said, start
from landing_visitor import Visitor

BACKENDS = ("sqlite", "postgresql")
THANKS = "Thank you"


@pytest.fixture
async def bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Engine]:
    """The team bot with the landing page; a test may name program changes (attribution, limits)."""
    changes: dict[str, Any] = getattr(request, "param", {})
    rules = program.model_copy(update={key: getattr(program, key).model_copy(update=v) for key, v in changes.items()})
    async with team_bot(telegram, slack, rules, clock, operator.database, **LANDING) as running:
        yield running


async def leave(bot: Engine, code: str, **fields: str) -> str:
    """A friend sends the form on `code`'s page (Ben, ben@example.com unless `fields` say otherwise): the page."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        visitor = Visitor(session, on_landing(bot))
        await visitor.open(f"/r/{code}")
        answer = await visitor.send(f"/r/{code}", **fields)
    assert answer.status == 200, answer.text
    return answer.text


async def test_the_details_become_a_referral_with_the_consent_as_it_was_shown(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    page = await leave(bot, code, name="Bea Ruiz", email="Bea@Example.com", phone="+34 612 345 678", note="Mornings")
    assert THANKS in page
    (row,) = operator.rows(
        "SELECT source, channel, status, friend_name, friend_contact, friend_contact_kind, friend_phone, friend_note,"
        " friend_consent_text, friend_consent_at, friend_language FROM referrals"
    )
    assert (row["source"], row["channel"], row["status"]) == ("landing", "landing", "new")
    assert (row["friend_name"], row["friend_contact"], row["friend_phone"]) == (
        "Bea Ruiz",
        "bea@example.com",
        "+34612345678",
    )
    assert (row["friend_contact_kind"], row["friend_note"], row["friend_language"]) == ("email", "Mornings", "en")
    assert row["friend_consent_text"].startswith("I agree that Acme Coffee may contact me") and row["friend_consent_at"]
    assert "Thank you, Ana! Bea Ruiz just joined Acme Coffee" in await said(telegram, 1001, "Bea Ruiz just joined")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert "*Contact:* bea@example.com, +34612345678" in alert.plain()


async def test_a_customer_is_nobodys_new_referral_and_the_page_does_not_say_so(
    bot: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await start(telegram, 1002, "Ben")
    await telegram.share_contact(telegram.user(1002, "Ben"), phone_number="+15550002222")
    await eventually(lambda: operator.count("customers WHERE phone = '+15550002222'") == 1)
    assert THANKS in await leave(bot, code, email="", phone="+1 555 000 2222")
    assert operator.count("referrals") == 0
    assert operator.count("events WHERE kind = 'landing.known'") == 1


@pytest.mark.parametrize(
    ("bot", "holder"),
    [({"attribution": {"model": "first_touch"}}, 1001), ({"attribution": {"model": "last_touch"}}, 1003)],
    indirect=["bot"],
    ids=["first touch keeps it", "last touch moves it"],
)
async def test_a_friend_has_one_referrer_and_the_attribution_rule_picks_them(
    bot: Engine, telegram: TelegramEmulator, operator: Operator, holder: int
) -> None:
    ana, _ = await start(telegram, 1001, "Ana")
    cleo, _ = await start(telegram, 1003, "Cleo")
    await leave(bot, ana)
    assert THANKS in await leave(bot, cleo, email="BEN@example.com")  # the same friend, however typed
    assert operator.rows("SELECT referrer_id FROM referrals") == [{"referrer_id": holder}]
    if holder == 1003:
        assert "Thank you, Cleo! Ben Baker just joined" in await said(telegram, 1003, "Ben Baker just joined")


@pytest.mark.parametrize("bot", [{"limits": {"velocity_per_hour": 1}}], indirect=True)
async def test_a_burst_on_one_page_waits_for_the_managers(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await leave(bot, code)
    await leave(bot, code, name="Cy", email="cy@example.com")
    await eventually(lambda: operator.count("referrals WHERE status = 'held'") == 1)
    await slack.wait_for_messages(slack.dm_channel(MAYA), 1)  # the managers hear of the burst
    assert len(await slack.wait_for_messages(ALERTS, 1)) == 1  # only the first reached the channel
