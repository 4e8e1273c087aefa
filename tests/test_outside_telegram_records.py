"""People outside Telegram in what an operator and a customer read: a friend who left their details on the landing
page and an advocate imported with only an e-mail address, as the CSV export and the CRM API show them, and /privacy
with /hidename and /showname, which choose whether a customer's web page shows their first name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from handlers.http.server import HttpServer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator
from helpers import PUBLIC_URL, on_landing, start
from outside_people import (
    BO,
    BO_MAIL,
    BO_PHONE,
    CONSENT,
    CY,
    CY_PHONE,
    HIDDEN,
    TOKEN,
    ZO,
    ZO_MAIL,
    clock_ahead,
    exported,
    import_advocates,
    mail_server,
    outside_bot,
    people_outside_telegram,
    reply_to,
)  # fmt: skip
from smtp_mailbox import Mailbox

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


async def test_the_export_shows_a_landing_friends_details_and_consent_and_an_advocate_by_email(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    program: Program,
    clock: FakeClock,
) -> None:
    await people_outside_telegram(telegram, slack, operator, program, clock)
    header, lines = await exported(slack)
    assert header[:16] == [  # the columns a sheet may read by position stay where they were
        "event_at", "event", "from_status", "by", "referral_id", "referred_at", "referrer_id", "referrer_name",
        "friend_telegram_id", "friend_name", "source", "channel", "status_now", "assignee", "deal_value", "detail",
    ]  # fmt: skip
    assert header[16:] == [
        "referrer_email", "friend_contact_kind", "friend_contact", "friend_phone", "friend_consent_text",
        "friend_consent_at",
    ]  # fmt: skip
    bo, cy = lines[BO], lines[CY]
    assert (bo["source"], bo["channel"], bo["referrer_id"], bo["referrer_name"], bo["referrer_email"]) == (
        "landing", "landing", "1001", "Ana", ""
    )  # fmt: skip
    assert (bo["friend_telegram_id"], bo["friend_contact_kind"], bo["friend_contact"]) == ("", "email", BO_MAIL)
    assert bo["friend_phone"] == "'" + BO_PHONE  # kept as text: a spreadsheet would read +1555... as a formula
    assert bo["friend_consent_text"] == CONSENT and bo["friend_consent_at"].startswith(f"{clock.now():%Y-%m-%d}")
    # Zo has no Telegram id yet: her record's id below zero is no one's to look up, so the column is empty.
    assert (cy["referrer_id"], cy["referrer_name"], cy["referrer_email"]) == ("", ZO, ZO_MAIL)
    assert (cy["friend_contact_kind"], cy["friend_contact"], cy["friend_phone"]) == ("phone", "'" + CY_PHONE, "")
    assert cy["source"] == "landing" and cy["friend_consent_text"] == CONSENT


async def crm_referrals(bot: Engine) -> dict[str, dict[str, Any]]:
    url = f"http://127.0.0.1:{bot.part(HttpServer).port}/api/referrals"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
            listed = await response.json()
        async with session.get(
            f"{url}/{listed['referrals'][0]['referral_id']}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response:
            assert (await response.json())["referral"] == listed["referrals"][0]  # one referral reads the same
    return {referral["friend_name"]: referral for referral in listed["referrals"]}


async def test_the_crm_api_shows_a_landing_friends_details_and_an_advocate_by_email(
    bot: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    program: Program,
    clock: FakeClock,
) -> None:
    people = await people_outside_telegram(telegram, slack, operator, program, clock)
    referrals = await crm_referrals(bot)
    bo, cy = referrals[BO], referrals[CY]
    assert {key: bo[key] for key in ("source", "channel", "referrer_id", "friend_telegram_id")} == {
        "source": "landing", "channel": "landing", "referrer_id": 1001, "friend_telegram_id": None
    }  # fmt: skip
    assert (bo["referrer_telegram_id"], bo["referrer_email"]) == (1001, None)
    assert (bo["friend_contact_kind"], bo["friend_contact"], bo["friend_phone"]) == ("email", BO_MAIL, BO_PHONE)
    assert bo["friend_consent_text"] == CONSENT and bo["friend_consent_at"].startswith(f"{clock.now():%Y-%m-%d}")
    assert (cy["referrer_id"], cy["referrer_telegram_id"], cy["referrer_email"]) == (people.zo, None, ZO_MAIL)
    assert (cy["friend_contact_kind"], cy["friend_contact"], cy["friend_phone"]) == ("phone", CY_PHONE, None)


async def page_title(bot: Engine, code: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(on_landing(bot, f"{PUBLIC_URL}/r/{code}")) as page:
        title = re.search(r"<h1[^>]*>(.*?)</h1>", await page.text(), re.S)
    assert title is not None
    return title.group(1).strip()


async def test_privacy_shows_the_address_and_hidename_and_showname_choose_what_the_web_page_shows(
    bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await import_advocates(operator, slack, "telegram_id,first_name,segment,email\n1001,Ana,customer,ana@example.com\n")
    privacy = await reply_to(telegram, 1001, "Ana", "privacy")
    assert "Phone: none\nE-mail: ana@example.com\n\nReferral reminders: on\n" in privacy
    assert "Your first name on your web page for friends: shown (/hidename hides it)\n\n" in privacy
    assert await page_title(bot, code) == "Ana invited you to Acme Coffee"

    assert (await reply_to(telegram, 1001, "Ana", "hidename")).startswith(HIDDEN)
    assert operator.rows("SELECT name_hidden FROM customers WHERE telegram_id = 1001") == [{"name_hidden": 1}]
    assert "web page for friends: hidden (/showname shows it)" in await reply_to(telegram, 1001, "Ana", "privacy")
    assert await page_title(bot, code) == "You are invited to Acme Coffee"
    shown = await reply_to(telegram, 1001, "Ana", "showname")
    assert shown.startswith("Done: your web page for friends shows your first name, Ana, so they know who invited")
    assert await page_title(bot, code) == "Ana invited you to Acme Coffee"

    await start(telegram, 1005, "Sara", language="fa")  # Persian reads right to left, line by line
    for command, words in (("hidename", "دیگر در صفحهٔ وب‌تان"), ("showname", "نام کوچک شما (Sara)")):
        answer = await reply_to(telegram, 1005, "Sara", command, "fa")
        assert words in answer and all(line.startswith("\u200f") for line in answer.splitlines() if line.strip())
    privacy = await reply_to(telegram, 1005, "Sara", "privacy", "fa")
    assert "ایمیل" not in privacy and "نام کوچک شما در صفحهٔ وب‌تان برای دوستان: نمایش داده می‌شود" in privacy
