"""CI's installed-package stage, last step: `referral-bot run` from the installed wheel, as a user runs it, against
the emulators that the wheel ships. A customer's /start must be answered, a friend arriving through the link it gave
must raise a Slack alert, and SIGTERM must stop the bot with exit status 0.

Run with the fresh environment's python from the folder `referral-bot init` wrote into (not the checkout), so every
module comes from the wheel: a package or data file missing from it fails here.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import bot
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

TOKEN, BOT = "123456:INSTALLED-PACKAGE", "AcmeReferralBot"
ALERTS, REP = "C0REFERRALS", "U0RITA"
LINK = re.compile(rf"https://t\.me/{BOT}\?start=([A-Za-z0-9_-]+)")
WAIT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


LANDING_PORT = free_port()


def settings(telegram: TelegramEmulator, slack: SlackEmulator) -> dict[str, str]:
    """The environment of `run`: both platforms on the emulators; everything else from the folder's .env."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "SLACK_"))}
    return kept | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.base_url,
        "TELEGRAM_FILE_URL": telegram.base_file_url,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "SLACK_BOT_TOKEN": "xoxb-installed",
        "SLACK_APP_TOKEN": "xapp-installed",
        "SLACK_API_URL": slack.api_url,
        "SLACK_ALERT_CHANNEL": ALERTS,
        "SLACK_MANAGER_IDS": REP,
        "HTTP_PORT": "0",
        "PUBLIC_URL": f"http://127.0.0.1:{LANDING_PORT}",  # the landing page's templates and CSS come from the wheel
        "LANDING_PORT": str(LANDING_PORT),
    }


def link_in(texts: list[str]) -> str:
    for text in texts:
        if found := LINK.search(text):
            return found.group(1)
    raise AssertionError(f"no referral link in the customer's messages: {texts}")


async def story(telegram: TelegramEmulator, slack: SlackEmulator, process: asyncio.subprocess.Process) -> None:
    customer, friend = telegram.user(5001, "Ana"), telegram.user(5002, "Ben")
    await telegram.send_command(customer, "start")
    replies = await telegram.wait_for_messages(customer.id, 1, timeout=WAIT)
    texts = [m.text or m.caption or "" for m in replies] + [b.get("url", "") for m in replies for b in m.buttons()]
    code = link_in(texts)
    print(f"installed package: /start answered with the link ?start={code}")
    await telegram.open_deep_link(friend, code)
    welcome = await telegram.wait_for_messages(friend.id, 1, timeout=WAIT)
    print(f"installed package: the friend was welcomed: {(welcome[0].text or '')[:60]!r}")
    alerts = await slack.wait_for_messages(ALERTS, 1, timeout=WAIT)
    assert "Ben" in alerts[0].text, f"the alert does not name the friend: {alerts[0].text!r}"
    print(f"installed package: Slack alert in #referrals: {alerts[0].text[:60]!r}")
    await landing_page(code.split("_")[0])
    assert process.returncode is None, "the bot exited during the story"


async def landing_page(code: str) -> None:
    """The customer's web link, as a friend without Telegram opens it: the page and its stylesheet."""

    def fetch(path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{LANDING_PORT}{path}", timeout=WAIT) as response:
            assert response.status == 200, f"{path} answered {response.status}"
            return str(response.read().decode())

    page = await asyncio.to_thread(fetch, f"/r/{code}")
    assert "Ana" in page and 'name="consent"' in page, (
        f"the landing page lacks the referrer or the form: {page[:200]!r}"
    )
    assert "{" in await asyncio.to_thread(fetch, "/static/landing.css"), "the landing page's stylesheet is empty"
    print(f"installed package: the landing page /r/{code} shows Ana's invitation and the form")


CHECKOUT = Path(__file__).resolve().parent.parent


async def main() -> int:
    assert not Path(bot.__file__).is_relative_to(CHECKOUT), "bot came from the checkout, not the wheel"
    async with (
        TelegramEmulator(token=TOKEN, bot_username=BOT, bot_name="Acme Referrals") as telegram,
        SlackEmulator(bot_token="xoxb-installed", app_token="xapp-installed") as slack,
    ):
        slack.add_user(REP, "rita", real_name="Rita Rep")
        slack.add_channel(ALERTS, "referrals", members={REP})
        command = Path(sys.executable).with_name("referral-bot")
        process = await asyncio.create_subprocess_exec(command, "run", env=settings(telegram, slack))
        try:
            await story(telegram, slack, process)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=WAIT)
    print(f"installed package: `referral-bot run` stopped on SIGTERM with exit status {code}")
    return code or await playground()


async def playground() -> int:
    """`referral-bot playground` from the wheel: its page and script come from the installed package."""
    command = Path(sys.executable).with_name("referral-bot")
    port = free_port()
    process = await asyncio.create_subprocess_exec(command, "playground", "--port", str(port))
    try:
        page = script = ""
        for _ in range(int(WAIT * 4)):
            try:
                page = await asyncio.to_thread(_fetch, port, "/")
                script = await asyncio.to_thread(_fetch, port, "/static/playground.js")
                break
            except OSError:  # not listening yet
                await asyncio.sleep(0.25)
        assert "Telegram" in page and "Slack" in page and script, "the playground's page or script is missing"
        print("installed package: `referral-bot playground` served its page and script")
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), timeout=WAIT)
    print(f"installed package: `referral-bot playground` stopped on Ctrl-C with exit status {code}")
    return code


def _fetch(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=WAIT) as response:
        return str(response.read().decode())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
