"""The playground in a real browser (Playwright driving Debian's chromium): the whole story, acted out on the page as a
visitor would, with the real engine behind it. The picture at the top of the README comes from here."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from bot.app.emulated import MONDAY_MORNING, emulated_bot
from bot.app.examples import PROGRAM_EXAMPLE
from bot.app.playground.server import Playground
from bot.core.clock import FakeClock
from bot.program.rules import load_program

from conftest import ROOT

WIDE: ViewportSize = {"width": 1440, "height": 960}
SCREENSHOT = ROOT / "docs" / "img" / "playground.png"
SLOW = 10_000  # ms: the bot's timers look at the pretend clock once a second


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    program = load_program(PROGRAM_EXAMPLE)
    async with (
        emulated_bot(program, FakeClock(MONDAY_MORNING), tmp_path / "playground.db") as world,
        Playground(world, program) as site,
    ):
        yield site


async def open_page(browser: Browser, playground: Playground, problems: list[str]) -> Page:
    """The playground in a wide window. Noted in `problems`: every request for something not on the playground, and
    every error the page meets (a script's, a resource its policy refused, a file not found)."""
    page = await (await browser.new_context(viewport=WIDE)).new_page()
    own = playground.url
    page.on("request", lambda request: None if request.url.startswith(own) else problems.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(playground.url)
    return page


@dataclass(frozen=True)
class Screen:
    """The page as the visitor sees it: the phone on the left, Slack on the right."""

    page: Page

    @property
    def telegram(self) -> Locator:
        return self.page.get_by_role("region", name="Telegram")

    @property
    def chat(self) -> Locator:
        return self.telegram.get_by_role("list", name="Chat with Acme Referrals")

    @property
    def slack(self) -> Locator:
        return self.page.get_by_role("region", name="Slack")

    @property
    def alert(self) -> Locator:
        return self.slack.locator("article", has_text="New referral").first

    def person(self, name: str) -> Locator:
        """A person's chip in the phone: their name, then perhaps how many messages they have not read."""
        return self.telegram.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(,|$)"))

    def teammate(self, name: str) -> Locator:
        """Someone on the Slack team: their name, then their role."""
        return self.slack.get_by_role("button", name=re.compile(rf"^{re.escape(name)} · "))

    def place(self, name: str) -> Locator:
        """A channel or the bot's app in Slack's sidebar (the app with a count of unread messages)."""
        return self.slack.get_by_role("navigation").get_by_role("button", name=re.compile(rf"^{re.escape(name)}"))

    async def type(self, box: Locator, text: str) -> None:
        await box.fill(text)
        await box.press("Enter")


async def test_the_whole_story_on_one_page(browser: Browser, playground: Playground) -> None:
    problems: list[str] = []
    screen = Screen(await open_page(browser, playground, problems))
    await expect(screen.page.locator("#clock")).to_have_text("Mon 5 Jan 2026, 10:00 (Europe/Madrid)")
    await ana_shares(screen)
    await ben_arrives(screen)
    await rita_claims(screen)
    await an_hour_passes(screen)
    await rita_converts(screen)
    await maya_reads_the_figures(screen)
    await expect(screen.page.get_by_role("status")).to_be_hidden(timeout=SLOW)  # the last toast has gone
    await screen.alert.evaluate("alert => alert.scrollIntoView({block: 'start'})")  # the alert first, then the stats
    await screen.page.screenshot(path=SCREENSHOT)
    assert problems == []  # nothing from elsewhere, nothing refused, no script error


async def ana_shares(screen: Screen) -> None:
    """1. Ana starts the bot, sends her invite card into a chat, and looks at her QR code."""
    await screen.type(screen.telegram.get_by_label("Message", exact=True), "/start")
    await expect(screen.chat).to_contain_text("Hi Ana, welcome to the Acme Coffee referral program!")
    await expect(screen.chat.locator(".m-b", has_text="Who is a great fit")).to_be_visible()
    await screen.chat.get_by_role("button", name="📣 Share in a chat").click()
    await screen.telegram.get_by_role("button", name=re.compile("^Invite a friend to Acme Coffee")).click()
    await expect(screen.chat).to_contain_text("You sent this to a chat")
    await screen.chat.get_by_role("button", name="🔳 QR code").click()
    await expect(screen.chat.get_by_role("img")).to_be_visible()


async def ben_arrives(screen: Screen) -> None:
    """2. Ben opens the card Ana sent him and shares his phone number; the team is alerted."""
    await screen.person("Ben").click()
    await expect(screen.chat).to_contain_text("Ana sent you")
    await screen.chat.get_by_role("button", name="Open Acme Coffee").click()
    await expect(screen.chat).to_contain_text("Welcome to Acme Coffee, Ben! Ana invited you.")
    await screen.telegram.get_by_role("button", name="📞 Share my phone number").click()
    await expect(screen.chat).to_contain_text("Our team will be in touch soon")
    await expect(screen.alert).to_contain_text("Ben was referred by Ana")
    await expect(screen.alert).to_contain_text("shared their phone number")  # in the alert's thread


async def rita_claims(screen: Screen) -> None:
    """3. Rita claims it, and sees her call script."""
    await expect(screen.teammate("Rita Rep")).to_have_attribute("aria-pressed", "true")
    await screen.alert.get_by_role("button", name="Claim", exact=True).click()
    await expect(screen.alert).to_contain_text("@rita claimed it")
    script = screen.slack.locator("article.ephemeral", has_text="Call script")
    await expect(script).to_contain_text("Only visible to you")


async def an_hour_passes(screen: Screen) -> None:
    """4. An hour passes without a call: the bot reminds Rita in her DM with it; then she calls."""
    await screen.page.get_by_role("button", name="+1 h").click()
    await expect(screen.page.locator("#clock")).to_have_text("Mon 5 Jan 2026, 11:00 (Europe/Madrid)")
    await expect(screen.place("Referral Bot")).to_contain_text("1", timeout=SLOW)
    await screen.place("Referral Bot").click()
    await screen.slack.get_by_role("tab", name="Messages").click()
    await expect(screen.slack.locator("#slack-feed")).to_contain_text("⏰ You claimed Ben 60 min ago.")
    await screen.place("# referrals").click()
    await screen.alert.get_by_role("button", name="Contacted", exact=True).click()
    await expect(screen.alert).to_contain_text("@rita marked it contacted")


async def rita_converts(screen: Screen) -> None:
    """5. Ben signs up: Rita marks it converted with the deal value; Ana hears of her reward."""
    await screen.alert.get_by_role("button", name="Converted", exact=True).click()
    form = screen.slack.get_by_role("dialog", name="Mark as converted")
    await form.get_by_label("Deal value (optional)").fill("twelve hundred")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_contain_text("Please enter an amount")  # the bot's answer, beside the field
    await form.get_by_label("Deal value (optional)").fill("1200")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_be_hidden()
    await expect(screen.alert.locator(".m-b", has_text="Converted")).to_be_visible()
    await screen.person("Ana").click()
    await expect(screen.chat).to_contain_text("Thank you, Ana! Ben just joined Acme Coffee")


async def maya_reads_the_figures(screen: Screen) -> None:
    """6. Maya, the manager, asks for the figures and the charts, and opens the dashboard in the app's Home tab."""
    await screen.teammate("Maya Manager").click()
    await screen.type(screen.slack.get_by_label("Message #referrals"), "/referrals stats")
    stats = screen.slack.locator("article.ephemeral", has_text="Referrals, last 30d")
    await expect(stats).to_contain_text("converted 1")
    await expect(stats).to_contain_text("revenue 1,200.00 EUR")
    await expect(stats.locator(".m-b", has_text="100.0%")).to_be_visible()
    await screen.type(screen.slack.get_by_label("Message #referrals"), "/referrals stats chart")
    await expect(screen.slack.locator("article.ephemeral", has_text="I sent you the charts")).to_be_visible()
    await screen.place("Referral Bot").click()
    await screen.slack.get_by_role("tab", name="Messages").click()
    await expect_pictures(screen.slack.locator("#slack-feed"), 2)  # the funnel and the weeks, uploaded to her DM
    await screen.slack.get_by_role("tab", name="Home").click()
    await expect(screen.slack.locator("#slack-feed")).to_contain_text("Referral dashboard")
    await expect_pictures(screen.slack.locator("#slack-feed"), 2)  # the same charts on the dashboard
    await screen.place("# referrals").click()


async def expect_pictures(where: Locator, count: int) -> None:
    """This many pictures, each loaded from the playground and drawn (not a broken image)."""
    pictures = where.get_by_role("img")
    await expect(pictures).to_have_count(count, timeout=SLOW)
    for picture in await pictures.all():
        await expect(picture).to_have_js_property("complete", True)
        assert await picture.evaluate("image => image.naturalWidth") > 100


async def test_a_new_friend_follows_the_link_and_persian_reads_right_to_left(
    browser: Browser, playground: Playground
) -> None:
    problems: list[str] = []
    screen = Screen(await open_page(browser, playground, problems))
    await screen.type(screen.telegram.get_by_label("Message", exact=True), "/start")
    await screen.chat.get_by_role("button", name="✉️ Share").click()  # Telegram's share page, into a chat
    await expect(screen.chat).to_contain_text("You sent this to a chat")

    await screen.telegram.get_by_role("button", name="+ New friend").click()
    await expect(screen.person("Carla")).to_have_attribute("aria-pressed", "true")
    await screen.telegram.get_by_role("button", name="+ New friend").click()
    await expect(screen.person("دارا")).to_have_attribute("aria-pressed", "true")
    await screen.chat.get_by_role("link", name="https://t.me/AcmeReferralBot?start=").click()
    welcome = screen.chat.locator("li.in", has_text="به Acme Coffee خوش آمدید")
    await expect(welcome).to_be_visible()
    assert await welcome.evaluate("node => node.matches(':dir(rtl)')")  # the bubble follows its Persian text
    await expect(screen.alert).to_contain_text("دارا")
    assert problems == []


async def test_the_playground_listens_on_127_0_0_1_alone_and_answers_only_its_own_page(
    playground: Playground,
) -> None:
    assert playground.addresses == ["127.0.0.1"]
    async with aiohttp.ClientSession() as http:
        async with http.get(playground.url) as page:
            assert page.status == 200
            assert '<script src="/static/playground.js" defer></script>' in await page.text()
            policy = page.headers["Content-Security-Policy"]
        async with http.get(playground.url, headers={"Host": f"rebound.example:{playground.port}"}) as rebound:
            assert rebound.status == 421  # a name that resolves to 127.0.0.1 does not reach it
        action = {"do": "advance", "minutes": 5}
        async with http.post(
            f"{playground.url}action", json=action, headers={"Origin": "https://elsewhere.example"}
        ) as post:
            assert post.status == 403  # another site open in the browser cannot act
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert playground.world.clock.now() == MONDAY_MORNING


async def test_the_page_needs_nothing_from_elsewhere(playground: Playground) -> None:
    async with aiohttp.ClientSession() as http:
        texts = {}
        for path in ("", "static/playground.css", "static/playground.js"):
            async with http.get(playground.url + path) as answer:
                assert answer.status == 200
                texts[path] = await answer.text()
    for reference in re.findall(r'(?:src|href)="([^"]*)"', texts[""]):
        assert reference.startswith("/"), f"the page loads {reference}"
    assert "@import" not in texts["static/playground.css"] and "@font-face" not in texts["static/playground.css"]
    for text in texts.values():
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text), "a resource from elsewhere"
    assert "innerHTML" not in texts["static/playground.js"]  # text is set as text, never parsed


def test_the_command_prints_its_address_runs_until_ctrl_c_and_deletes_its_database(tmp_path: Path) -> None:
    """`referral-bot playground --program FILE` as a newcomer runs it, with their own program's name."""
    program = tmp_path / "program.toml"
    program.write_text(PROGRAM_EXAMPLE.read_text(encoding="utf-8").replace("Acme Coffee", "Bean There"), "utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    command = [sys.executable, "-m", "bot", "playground", "--program", str(program)]
    env = {**os.environ, "TMPDIR": str(scratch)}  # where the throwaway database goes
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        try:
            assert run.stdout is not None
            address = re.fullmatch(r"playground: (http://127\.0\.0\.1:\d+/)\n", run.stdout.readline())
            assert address, run.stderr.read() if run.stderr else ""
            assert len(list(scratch.glob("referral-bot-playground-*/playground.db"))) == 1
            with urllib.request.urlopen(address.group(1), timeout=10) as page:
                assert "<title>Bean There · referral-bot playground</title>" in page.read().decode()
            run.send_signal(signal.SIGINT)
            out, err = run.communicate(timeout=30)
        finally:
            run.kill()
    assert run.returncode == 0, err
    assert "playground: stopped, and its database is deleted" in out
    assert list(scratch.iterdir()) == []
