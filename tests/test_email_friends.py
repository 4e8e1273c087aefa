"""Friends outside Telegram by e-mail: a friend who left their address on the landing page gets a welcome and the
team's messages by e-mail, until they unsubscribe; an advocate known only by e-mail hears about their friend by
e-mail. Through the real landing page, the real SMTP client and server, and the Slack emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, Operator, eventually, team_bot
from helpers import LANDING, PUBLIC_URL, WEB_LINK, current, environment, on_landing, referral_bot, start
from landing_visitor import Visitor
from outside_people import mail_server
from smtp_mailbox import Mailbox, text_of

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    async with mail_server() as server:
        yield server


@pytest.fixture
async def bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    mailbox: tuple[Mailbox, int],
) -> AsyncIterator[Engine]:
    mail: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{mailbox[1]}",
        "smtp_from": "Acme Referrals <referrals@acme.example>",
        "smtp_reply_to": "team@acme.example",
        **LANDING,
    }
    async with team_bot(telegram, slack, program, clock, operator.database, **mail) as running:
        yield running


async def leaves_details(bot: Engine, link: str, **fields: str) -> None:
    """A friend opens a web link and sends the form (Ben, ben@example.com, unless `fields` say otherwise)."""
    async with aiohttp.ClientSession() as session:
        visitor = Visitor(session, on_landing(bot, PUBLIC_URL))
        path = link.removeprefix(PUBLIC_URL)
        assert (await visitor.open(path)).status == 200
        sent = await visitor.send(path, **fields)
        assert sent.status == 200, sent.text


async def test_a_landing_friend_is_welcomed_and_written_to_by_email_until_they_unsubscribe(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, mailbox: tuple[Mailbox, int], operator: Operator
) -> None:
    box = mailbox[0]
    _, welcome = await start(telegram, 1001, "Ana")
    found = WEB_LINK.search(welcome.text)
    assert found is not None
    await leaves_details(bot, found.group(0))
    await slack.wait_for(lambda: len(box.to("ben@example.com")) == 1, what="the friend's welcome e-mail")
    (hello,) = box.to("ben@example.com")
    assert hello["Subject"] == "Welcome to Acme Coffee" and hello["Reply-To"] == "team@acme.example"
    assert "Ana thought you would like Acme Coffee" in text_of(hello)
    assert f"https://t.me/AcmeReferralBot?start={found.group(1)}_w" in text_of(hello)  # the way to the bot

    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert "Left their details on the customer's web page" in alert.plain()
    assert "*Contact:* ben@example.com (agreed to be contacted, confirmed by Ben Baker on" in alert.plain()
    await slack.click(RITA, alert, "referral_message")
    (modal,) = slack.views(RITA)
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "Hi Ben! Can we call tomorrow at 10?"}})
    await slack.wait_for(lambda: len(box.to("ben@example.com")) == 2, what="the rep's e-mail")
    note = box.to("ben@example.com")[1]
    assert note["Subject"] == "A message from Acme Coffee" and note["Reply-To"] == "team@acme.example"
    assert "Hi Ben! Can we call tomorrow at 10?" in text_of(note) and "Reply to this e-mail" in text_of(note)
    (thread,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    assert thread.text == f":outbox_tray: <@{RITA}> wrote to the friend by e-mail: Hi Ben! Can we call tomorrow at 10?"

    one_click = note["List-Unsubscribe"].strip("<>")
    async with (
        aiohttp.ClientSession() as session,
        session.post(on_landing(bot, one_click), data={"List-Unsubscribe": "One-Click"}) as response,
    ):
        assert response.status == 200  # a mail client's one-click unsubscribe (RFC 8058)
    assert operator.count("email_addresses WHERE address = 'ben@example.com' AND unsubscribed_at IS NOT NULL") == 1
    await slack.click(RITA, current(slack, alert), "referral_message")
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": "Still there?"}})
    (why,) = await slack.wait_for_messages(slack.dm_channel(RITA), 1)  # the modal is gone: told in a DM
    assert "no e-mail address they gave us themselves" in why.text
    assert len(box.to("ben@example.com")) == 2


async def test_an_advocate_known_only_by_email_hears_of_their_friend_by_email(
    bot: Engine, mailbox: tuple[Mailbox, int], operator: Operator, tmp_path: Path
) -> None:
    box = mailbox[0]
    csv = tmp_path / "advocates.csv"
    csv.write_text("first_name,segment,email\nCleo,customer,cleo@example.com\n", encoding="utf-8")
    env = environment(None, tmp_path, DATABASE_URL=operator.url)
    process = await referral_bot(tmp_path, env, "import-advocates", str(csv))
    assert await process.wait() == 0
    (cleo,) = operator.rows("SELECT referral_code FROM customers WHERE email = 'cleo@example.com'")
    await leaves_details(bot, f"{PUBLIC_URL}/r/{cleo['referral_code']}", name="Dan", email="dan@example.com")
    await eventually(lambda: len(box.to("cleo@example.com")) == 1)
    (thanks,) = box.to("cleo@example.com")
    assert thanks["Subject"] == "News from Acme Coffee"
    assert "Thank you, Cleo! Dan just joined Acme Coffee through your invitation." in text_of(thanks)
    assert "<b>" not in text_of(thanks) and "<b>" in str(thanks.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert operator.count("outbox WHERE platform = 'telegram'") == 0  # no chat to send into


async def test_an_address_that_bounces_gets_no_more_mail(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, mailbox: tuple[Mailbox, int], operator: Operator
) -> None:
    box = mailbox[0]
    box.refuse["ben@example.com"] = "550 5.1.1 No such mailbox"
    code, _ = await start(telegram, 1001, "Ana")
    await leaves_details(bot, f"{PUBLIC_URL}/r/{code}")
    stopped = "email_addresses WHERE address = 'ben@example.com' AND unsubscribed_at IS NOT NULL"
    await eventually(lambda: operator.count(stopped) == 1)
    (dead,) = operator.rows("SELECT status, last_error FROM outbox WHERE platform = 'email'")
    assert dead["status"] == "dead" and "refused the recipient ben@example.com: 550" in dead["last_error"]
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    await slack.click(RITA, alert, "referral_message")
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": "Hello?"}})
    (why,) = await slack.wait_for_messages(slack.dm_channel(RITA), 1)
    assert "no e-mail address they gave us themselves" in why.text
    assert operator.count("outbox WHERE platform = 'email'") == 1  # nothing more was queued for it
