"""The landing page in a real browser (Playwright driving Debian's chromium, on a phone-sized screen): a friend
without Telegram opens a customer's web link, leaves their details, and the team and the customer hear of it at once;
in Persian the page reads right to left. The screenshots in docs/img/ and the README come from here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, ROOT, Operator, team_bot
from helpers import LANDING, WEB_LINK, on_landing, said, start

PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
SCREENSHOTS = ROOT / "docs" / "img"


@pytest.fixture
async def bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with team_bot(telegram, slack, program, clock, operator.database, **LANDING) as running:
        yield running


async def phone(browser: Browser, locale: str = "en-US") -> BrowserContext:
    """A phone's browser whose language is `locale` (its Accept-Language)."""
    return await browser.new_context(locale=locale, **PHONE)


async def anas_page(telegram: TelegramEmulator, bot: Engine) -> str:
    """Ana starts the bot; her web link, from her welcome, as the friend's browser reaches it."""
    _, welcome = await start(telegram, 1001, "Ana")
    link = WEB_LINK.search(welcome.text)
    assert link, f"no web link in the welcome: {welcome.text}"
    return on_landing(bot, link.group(0))


async def test_a_friend_leaves_their_details_and_the_team_and_the_referrer_hear_at_once(
    telegram: TelegramEmulator, slack: SlackEmulator, bot: Engine, browser: Browser, operator: Operator
) -> None:
    url = await anas_page(telegram, bot)
    page = await (await phone(browser)).new_page()
    await page.goto(url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ana invited you to Acme Coffee")
    await expect(page.get_by_text("15% off your first three deliveries")).to_be_visible()
    await expect(page.get_by_text("Offices of 5 to 50 people")).to_be_visible()
    telegram_button = page.get_by_role("link", name="Open in Telegram")
    assert await telegram_button.get_attribute("href") == f"https://t.me/AcmeReferralBot?start={url[-12:]}_w"
    await page.screenshot(path=SCREENSHOTS / "landing-en.png", full_page=True)

    await page.get_by_label("Your name").fill("Ben Baker")
    await page.get_by_label("E-mail address").fill("ben@example.com")
    await page.get_by_label("Anything we should know?").fill("Mornings are best.")
    await page.get_by_role("checkbox").check()
    await page.get_by_role("button", name="Send my details").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    await expect(page.get_by_text("Someone from Acme Coffee will be in touch soon.")).to_be_visible()
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert alert.text.startswith("New referral: Ben Baker (from Ana)")
    assert "ben@example.com" in alert.plain() and "Mornings are best." in alert.plain()
    assert "Ben Baker just joined Acme Coffee" in await said(telegram, 1001, "Thank you, Ana!")
    (referral,) = operator.rows("SELECT friend_name, friend_contact, friend_note, source FROM referrals")
    assert referral == {
        "friend_name": "Ben Baker",
        "friend_contact": "ben@example.com",
        "friend_note": "Mornings are best.",
        "source": "landing",
    }


async def test_a_mistake_is_named_beside_its_field_and_what_was_typed_is_kept(
    telegram: TelegramEmulator, bot: Engine, browser: Browser, operator: Operator
) -> None:
    page = await (await phone(browser)).new_page()
    await page.goto(await anas_page(telegram, bot))
    await page.get_by_label("Your name").fill("Ben Baker")
    await page.get_by_label("E-mail address").fill("ben@example")
    await page.get_by_role("checkbox").check()
    await page.get_by_role("button", name="Send my details").click()

    email = page.get_by_label("E-mail address")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_accessible_description("Enter an e-mail address such as name@example.com.")
    await expect(email).to_have_value("ben@example")
    await expect(page.get_by_label("Your name")).to_have_value("Ben Baker")
    await expect(page.get_by_role("checkbox")).to_be_checked()
    await expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    await page.get_by_role("alert").get_by_role("link").click()
    await expect(email).to_be_focused()  # the summary's link leads to the field
    assert operator.count("referrals") == 0


async def test_persian_reads_right_to_left_chosen_by_the_browser_or_by_the_switcher(
    telegram: TelegramEmulator, bot: Engine, browser: Browser
) -> None:
    url = await anas_page(telegram, bot)
    persian = await (await phone(browser, "fa-IR")).new_page()  # Accept-Language: fa-IR
    await persian.goto(url)
    await expect_persian(persian)
    await persian.screenshot(path=SCREENSHOTS / "landing-fa.png", full_page=True)

    english = await (await phone(browser)).new_page()
    await english.goto(f"{url}?lang=fa")
    await expect_persian(english)
    await english.get_by_role("navigation").get_by_role("link", name="English").click()
    await expect(english.locator("html")).to_have_attribute("dir", "ltr")
    await english.get_by_role("link", name="فارسی").click()
    await expect_persian(english)


async def expect_persian(page: Page) -> None:
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "fa")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ana شما را به Acme Coffee دعوت کرده است")
    await expect(page.get_by_role("button", name="ارسال اطلاعات من")).to_be_visible()
    await expect(page.get_by_label("نشانی ایمیل")).to_be_visible()
