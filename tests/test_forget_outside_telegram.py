"""Forgetting people outside Telegram, by the operator's `forget --email` or `--phone` and by /forget in Telegram: a
friend who left their details on the landing page and an advocate imported with only an e-mail address leave nothing
of themselves in the database (short names too, which no text search finds), while the counts stay."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, Operator, eventually
from helpers import ask
from outside_people import (
    BO,
    BO_MAIL,
    BO_NOTE,
    BO_PHONE,
    CY,
    CY_PHONE,
    ZO,
    ZO_MAIL,
    cli,
    clock_ahead,
    exported,
    mail_server,
    outside_bot,
    people_outside_telegram,
    reply_to,
)  # fmt: skip
from smtp_mailbox import Mailbox
from stored_traces import names_left

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def clock() -> FakeClock:
    return clock_ahead()


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
    async with outside_bot(telegram, slack, program, clock, operator, mailbox[1]) as running:
        yield running


def alert_cards(slack: SlackEmulator) -> list[str]:
    return sorted(m.text for m in slack.messages(ALERTS) if m.text.startswith("New referral"))


async def test_forget_by_address_or_number_erases_a_landing_friend_and_their_mail(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    program: Program,
    clock: FakeClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    people = await people_outside_telegram(telegram, slack, operator, program, clock)
    assert mailbox[0].to(BO_MAIL)  # Bo's welcome, which names Ana
    bo_traces = (BO, BO_MAIL, BO_PHONE, BO_PHONE[1:], BO_NOTE)
    assert names_left(operator, (*bo_traces, CY, CY_PHONE)) == [*bo_traces, CY, CY_PHONE]
    code, out, _ = await cli(operator, slack, "forget", "--email", BO_MAIL.upper(), "--yes")
    assert code == 0 and out.splitlines()[:3] == [
        f"forgot e-mail address {BO_MAIL} (a referred friend)",
        "kept anonymously: 0 referrals made, 1 as the friend",
        "messages: 0 unsent dropped, 2 sent blanked",  # his welcome, and Ana's thanks that named him
    ]
    assert names_left(operator, (*bo_traces, CY, "Ana")) == [CY, "Ana"]  # only Bo is gone
    (bo,) = operator.rows("SELECT * FROM referrals WHERE id = ?", people.bo)
    assert {key: bo[key] for key in ("source", "status", "referrer_id", "friend_contact_kind")} == {
        "source": "landing", "status": "new", "referrer_id": 1001, "friend_contact_kind": "email"
    }  # fmt: skip
    erased = ("friend_name", "friend_contact", "friend_phone", "friend_note", "friend_consent_text")
    assert [bo[key] for key in erased] == [None] * len(erased)
    assert operator.count("email_addresses WHERE address = 'bo@example.com'") == 0

    code, out, _ = await cli(operator, slack, "forget", "--phone", "+1 (555) 000-2222", "--yes")
    assert code == 0 and out.startswith(f"forgot phone number {CY_PHONE} (a referred friend)\n")
    assert names_left(operator, (CY, CY_PHONE, CY_PHONE[1:], ZO)) == [ZO]
    await eventually(
        lambda: (
            alert_cards(slack)
            == ["New referral: A friend (from Ana) · new", f"New referral: A friend (from {ZO}) · new"]
        )
    )
    top = await ask(slack, MAYA, "top")
    assert "1. Ana: 0 converted of 1 referred" in top and f"{ZO}: 0 converted of 1 referred" in top
    assert await cli(operator, slack, "forget", "--email", BO_MAIL, "--yes") == (
        1, "", f"referral-bot forget: no customer or referred friend with e-mail address {BO_MAIL}\n"
    )  # fmt: skip


async def test_forget_names_exactly_one_person_by_a_well_formed_contact(
    operator: Operator, slack: SlackEmulator
) -> None:
    code, _, err = await cli(operator, slack, "forget", "--phone", "call me", "--yes")
    assert code == 2 and "'call me' is not a phone number (an international number such as +15550001111)" in err
    code, _, err = await cli(operator, slack, "forget", "--email", "+15550001111", "--yes")
    assert code == 2 and "'+15550001111' is not an e-mail address (name@example.com)" in err
    code, _, err = await cli(operator, slack, "forget", "2001", "--email", BO_MAIL, "--yes")
    assert code == 2 and "name one person" in err and "(not a Telegram user id and --email together)" in err
    assert operator.path.exists() is False  # refused before the database was opened


async def test_forget_by_address_erases_an_advocate_imported_by_email_and_keeps_their_counts(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    program: Program,
    clock: FakeClock,
) -> None:
    people = await people_outside_telegram(telegram, slack, operator, program, clock)
    assert operator.count(f"advocate_invites WHERE customer_id = {people.zo}") == 1
    assert names_left(operator, (ZO, ZO_MAIL)) == [ZO, ZO_MAIL]
    code, out, _ = await cli(operator, slack, "forget", "--email", ZO_MAIL, "--yes")
    assert code == 0 and out.splitlines()[:2] == [
        f"forgot e-mail address {ZO_MAIL} (a customer)",
        "kept anonymously: 1 referrals made, 0 as the friend",
    ]
    assert names_left(operator, (ZO, ZO_MAIL, CY, BO)) == [CY, BO]  # her friend stays: only she asked
    assert (
        operator.count("advocate_invites") == 0
        and operator.count("email_addresses WHERE address = 'zo@example.com'") == 0
    )
    assert operator.rows("SELECT email, name_hidden FROM customers WHERE telegram_id < 0") == [
        {"email": None, "name_hidden": 0}
    ]
    assert "A forgotten advocate: 0 converted of 1 referred" in await ask(slack, MAYA, "top")
    _, lines = await exported(slack)
    assert (lines[CY]["referrer_id"], lines[CY]["referrer_name"], lines[CY]["referrer_email"]) == ("", "", "")


async def test_forget_in_telegram_erases_the_address_of_an_advocate_who_bound_their_account(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    program: Program,
    clock: FakeClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    await people_outside_telegram(telegram, slack, operator, program, clock)
    (asked,) = [m for m in mailbox[0].to(ZO_MAIL) if m["Subject"] == "Know someone who would like Acme Coffee?"]
    text = asked.get_body(("plain",))
    link = re.search(r"start=(adv_[A-Za-z0-9_-]+)", text.get_content() if text is not None else "")
    assert link is not None, "no personal link in the e-mail"
    await telegram.open_deep_link(telegram.user(3001, ZO), link.group(1))
    await telegram.wait_for_messages(3001, 1)
    assert f"E-mail: {ZO_MAIL}\n" in await reply_to(telegram, 3001, ZO, "privacy")
    assert operator.rows("SELECT telegram_id FROM customers WHERE email = ?", ZO_MAIL) == [{"telegram_id": 3001}]
    before = len(telegram.messages(3001))
    await telegram.send_command(telegram.user(3001, ZO), "forget")
    prompt = (await telegram.wait_for_messages(3001, before + 1))[before]
    await telegram.press_button(telegram.user(3001, ZO), prompt, "forget:yes")
    done = (await telegram.wait_for_messages(3001, before + 2))[before + 1]
    assert done.text.startswith("Done: we erased what we stored about you.")
    assert names_left(operator, (ZO, ZO_MAIL)) == []
    assert (
        operator.count("advocate_invites") == 0
        and operator.count("email_addresses WHERE address = 'zo@example.com'") == 0
    )
