"""Advocates a business knows only by e-mail: imported from a CSV without a Telegram id, asked by e-mail with a
personal link that binds their Telegram account on /start, and told by e-mail about friends they bring meanwhile."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, Operator, team_bot
from helpers import environment, referral_bot
from outside_people import mail_server
from smtp_mailbox import Mailbox, text_of

BACKENDS = ("sqlite", "postgresql")  # moving a record to its Telegram id is SQL of its own on each
PUBLIC_URL = "https://refer.acme.example"
ADVOCATES = "first_name,last_name,segment,language,email\nAna,Ruiz,inner_circle,es,Ana.Ruiz@Example.com\n"


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
        "public_url": PUBLIC_URL,
        "landing_port": 0,
    }
    async with team_bot(telegram, slack, program, clock, operator.database, **mail) as running:
        yield running


async def imported(tmp_path: Path, operator: Operator, text: str = ADVOCATES) -> str:
    """`referral-bot import-advocates` as an operator runs it; its summary line."""
    csv = tmp_path / "advocates.csv"
    csv.write_text(text, encoding="utf-8")
    process = await referral_bot(
        tmp_path, environment(None, tmp_path, DATABASE_URL=operator.url), "import-advocates", str(csv)
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()[0]


async def asked(slack: SlackEmulator, segment: str) -> str:
    seen = len(slack.responses)
    await slack.slash_command(MAYA, "/referrals", f"ask {segment}", channel_id=ALERTS)
    await slack.wait_for(lambda: len(slack.responses) > seen, what="the answer to /referrals ask")
    return str(slack.responses[seen]["text"])


async def test_an_imported_advocate_is_asked_by_email_and_their_link_binds_their_telegram_account(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    box = mailbox[0]
    assert await imported(tmp_path, operator) == "Imported 1 advocate: 1 new, 0 updated."
    (record,) = operator.rows("SELECT telegram_id, email, referral_code FROM customers")
    assert record["telegram_id"] < 0 and record["email"] == "ana.ruiz@example.com"  # no Telegram account yet
    assert (await asked(slack, "inner_circle")).startswith("*Asked 1 of 1* in _inner_circle_")
    await slack.wait_for(lambda: len(box.to("ana.ruiz@example.com")) == 1, what="the ask by e-mail")
    (mail,) = box.to("ana.ruiz@example.com")
    assert mail["Subject"] == "¿Conoces a alguien a quien le guste Acme Coffee?"  # in the file's language
    assert mail["Reply-To"] == "team@acme.example" and mail["List-Unsubscribe"].startswith(
        f"<{PUBLIC_URL}/unsubscribe/"
    )
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ana" in text and f"{PUBLIC_URL}/r/{record['referral_code']}" in text  # the web link, for friends
    match = re.search(r"https://t\.me/AcmeReferralBot\?start=(adv_[A-Za-z0-9_-]+)", text)
    assert match is not None

    await telegram.open_deep_link(telegram.user(3001, "Ana", language_code="es"), match.group(1))
    (welcome,) = await telegram.wait_for_messages(3001, 1)
    assert welcome.text.startswith("¡Hola, Ana! Te damos la bienvenida")  # their imported name and language
    assert f"start={record['referral_code']}" in welcome.text  # the code their e-mailed web link carries
    (bound,) = operator.rows("SELECT telegram_id, email, segment, last_name, referral_code FROM customers")
    assert (bound["telegram_id"], bound["segment"], bound["last_name"]) == (3001, "inner_circle", "Ruiz")
    assert (bound["email"], bound["referral_code"]) == ("ana.ruiz@example.com", record["referral_code"])
    assert [r["customer_id"] for r in operator.rows("SELECT customer_id FROM asks")] == [3001]  # its ask log moved

    await telegram.open_deep_link(telegram.user(3002, "Eve"), match.group(1))  # a forwarded mail: spent
    spent, _ = await telegram.wait_for_messages(3002, 2)
    assert spent.text.startswith("This personal link has been used already or has expired.")
    assert operator.count("customers WHERE telegram_id = 3002 AND segment = 'inner_circle'") == 0


async def test_an_unsubscribed_advocate_is_not_asked_again(
    bot: Engine,
    slack: SlackEmulator,
    operator: Operator,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    box = mailbox[0]
    await imported(tmp_path, operator)
    await asked(slack, "inner_circle")
    await slack.wait_for(lambda: len(box.to("ana.ruiz@example.com")) == 1, what="the first ask")
    token = operator.rows("SELECT token FROM email_addresses")[0]["token"]
    unsubscribe = box.to("ana.ruiz@example.com")[0]["List-Unsubscribe"]
    assert unsubscribe == f"<{PUBLIC_URL}/unsubscribe/{token}>"
    operator.execute("UPDATE email_addresses SET unsubscribed_at = '2026-01-01T00:00:00+00:00'")
    operator.execute("DELETE FROM asks")  # past the cooldown, as far as the rules know
    answer = await asked(slack, "inner_circle")
    assert answer.startswith("*Asked 0 of 1*") and "unreachable" in answer
    assert len(box.to("ana.ruiz@example.com")) == 1


async def test_an_advocate_imported_with_a_telegram_id_who_never_started_the_bot_is_asked_by_email(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    box = mailbox[0]
    await imported(tmp_path, operator, "first_name,segment,email,telegram_id\nEve,partner,eve@example.com,1005\n")
    assert (await asked(slack, "partner")).startswith("*Asked 1 of 1*")  # a bot cannot write first in Telegram
    await slack.wait_for(lambda: len(box.to("eve@example.com")) == 1, what="the ask by e-mail")
    assert telegram.messages(1005) == []
    found = re.search(r"start=(adv_[A-Za-z0-9_-]+)", text_of(box.to("eve@example.com")[0]))
    assert found is not None
    await telegram.open_deep_link(telegram.user(1005, "Eve"), found.group(1))
    (welcome,) = await telegram.wait_for_messages(1005, 1)
    assert welcome.text.startswith("Hi Eve, welcome to the Acme Coffee referral program!")
    assert operator.rows("SELECT telegram_id, unreachable_at FROM customers") == [
        {"telegram_id": 1005, "unreachable_at": None}  # reached in Telegram now: the next ask goes there
    ]


async def test_a_personal_link_expires(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    mailbox: tuple[Mailbox, int],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    box = mailbox[0]
    await imported(tmp_path, operator)
    await asked(slack, "inner_circle")
    await slack.wait_for(lambda: len(box.to("ana.ruiz@example.com")) == 1, what="the ask by e-mail")
    mail = text_of(box.to("ana.ruiz@example.com")[0])
    found = re.search(r"start=(adv_[A-Za-z0-9_-]+)", mail)
    assert found is not None
    expires = (clock.now() + timedelta(days=30)).date().isoformat()
    assert expires in mail  # the mail says until when it works (ADVOCATE_LINK_DAYS)
    clock.advance(timedelta(days=30, seconds=1))
    await telegram.open_deep_link(telegram.user(3001, "Ana"), found.group(1))
    spent, _ = await telegram.wait_for_messages(3001, 2)
    assert spent.text.startswith("This personal link has been used already or has expired.")
    assert operator.count("customers WHERE telegram_id < 0") == 1  # the record still waits for a new link
