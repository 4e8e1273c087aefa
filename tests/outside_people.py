"""People outside Telegram, for the tests of what an operator reads and erases about them: the bot with its landing
page, e-mail (a real SMTP server) and CRM API, Ana on Telegram, Zo imported with only an e-mail address, and a
friend of each who left their details on the landing page. Test modules import these from here."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.customers.landing import Accepted, FriendForm
from bot.customers.services import CustomerServices, Outside
from bot.delivery.mail import ask_by_email
from bot.program.rules import Program
from bot.team.alerts import Alerts, Team
from messages import Renderer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import ALERTS, BOT_USERNAME, MAYA, Operator, eventually, team_bot
from faults import free_port
from helpers import LANDING, PUBLIC_URL, ask, run, said, start
from smtp_mailbox import Mailbox, smtp_server

TOKEN = "crm-secret-token-1234"
CONSENT = (
    "I agree that Acme Coffee may contact me by e-mail or phone about this offer. My details are used for nothing"
    " else, and I can ask for them to be deleted at any time."
)
# Names of two letters, which no text search can find: what names them is found by whose name it carries.
ZO, ZO_MAIL = "Zo", "zo@example.com"  # an advocate imported with only an e-mail address
BO, BO_MAIL, BO_PHONE, BO_NOTE = "Bo", "bo@example.com", "+15550001111", "mornings suit the Bo office"
CY, CY_PHONE = "Cy", "+15550002222"  # a landing-page friend who left only a number
HIDDEN = "Done: your first name is no longer shown on your web page for friends"


@dataclass
class People:
    bo: str  # the referral ids of the two landing-page friends
    cy: str
    zo: int  # the imported advocate's id, below zero


def clock_ahead() -> FakeClock:
    """The operator's commands run on the real clock. The bot's is an hour ahead, so what they queue is due at once."""
    return FakeClock(datetime.now(UTC) + timedelta(hours=1))


@asynccontextmanager
async def mail_server() -> AsyncIterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1: its mailbox, and its port."""
    mailbox, port = Mailbox(), free_port()
    async with smtp_server(mailbox, port):
        yield mailbox, port


@asynccontextmanager
async def outside_bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator, port: int
) -> AsyncIterator[Engine]:
    """The whole bot, with the landing page, e-mail through the SMTP server at `port`, and the CRM API."""
    mail = {"smtp_url": f"smtp://127.0.0.1:{port}", "smtp_from": "Acme <referrals@example.com>"}
    async with team_bot(
        telegram, slack, program, clock, operator.database, **LANDING, **mail, crm_api_token=TOKEN
    ) as running:
        yield running


async def cli(operator: Operator, slack: SlackEmulator, *args: str) -> tuple[int, str, str]:
    """`referral-bot <args>` beside the running bot, with the team's Slack settings (forgetting redraws alerts)."""
    return await run(
        operator.path.parent,
        *args,
        DATABASE_URL=operator.url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=slack.api_url,
        SLACK_SIGNING_SECRET="test-secret",
        SLACK_ALERT_CHANNEL=ALERTS,
        SLACK_MANAGER_IDS=MAYA,
    )


async def import_advocates(operator: Operator, slack: SlackEmulator, lines: str) -> None:
    path = operator.path.parent / "advocates.csv"
    path.write_text(lines, encoding="utf-8")
    code, out, err = await cli(operator, slack, "import-advocates", str(path))
    assert code == 0 and out.startswith("Imported 1 advocate: "), err


@asynccontextmanager
async def services_beside(operator: Operator, program: Program, clock: FakeClock) -> AsyncIterator[CustomerServices]:
    """The domain, as the landing page's server calls it, on a store of its own beside the running bot."""
    store = await open_store(operator.url)
    alerts = Alerts(Team(ALERTS, frozenset({MAYA})))
    try:
        yield CustomerServices.build(
            store, program, Renderer(), BOT_USERNAME, clock, lambda: None, alerts, outside=Outside(PUBLIC_URL, True)
        )
    finally:
        await store.close()


async def people_outside_telegram(
    telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, program: Program, clock: FakeClock
) -> People:
    """Ana (on Telegram) and Zo (imported by e-mail, asked by e-mail) each have a friend from their web page: Bo
    leaves an address, a number and a note, Cy only a number. Everyone they are mailed or alerted about arrives."""
    code, _ = await start(telegram, 1001, "Ana")
    await import_advocates(operator, slack, f"first_name,segment,email\n{ZO},inner_circle,{ZO_MAIL}\n")
    (zo_row,) = operator.rows("SELECT telegram_id, referral_code FROM customers WHERE email = ?", ZO_MAIL)
    zo, zo_code = int(zo_row["telegram_id"]), str(zo_row["referral_code"])
    async with services_beside(operator, program, clock) as services:
        landing, units = services.landing, services.units
        bo = await landing.submit("form-bo", code, "en", FriendForm(BO, BO_MAIL, "+1 555 000 1111", BO_NOTE, True))
        cy = await landing.submit("form-cy", zo_code, "en", FriendForm(CY, "", "+1 555 000 2222", "", True))
        async with units.once("test:ask-zo") as w:
            assert w is not None
            zo_record = await w.tx.customer(zo)
            assert zo_record is not None and await ask_by_email(w, units, zo_record, "ask:zo", None)
    assert isinstance(bo, Accepted) and isinstance(cy, Accepted) and bo.referral_id and cy.referral_id
    await slack.wait_for_messages(ALERTS, 2)
    await said(telegram, 1001, "Thank you, Ana!")
    await eventually(lambda: operator.count("outbox WHERE status IN ('pending', 'sending')") == 0, timeout=10)
    return People(bo.referral_id, cy.referral_id, zo)


async def exported(slack: SlackEmulator) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The CSV a manager gets from `/referrals export all`: its header, and each referral's creation line."""
    await ask(slack, MAYA, "export all")
    content = slack.files(slack.dm_channel(MAYA))[-1].content.decode()
    header = next(csv.reader(io.StringIO(content)))
    lines = [line for line in csv.DictReader(io.StringIO(content)) if line["event"] == "created"]
    return header, {line["friend_name"]: line for line in lines}


async def reply_to(telegram: TelegramEmulator, user_id: int, name: str, command: str, language: str = "en") -> str:
    before = len(telegram.messages(user_id))
    await telegram.send_command(telegram.user(user_id, name, language_code=language), command)
    return (await telegram.wait_for_messages(user_id, before + 1))[before].text
