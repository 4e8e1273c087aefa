"""What many scenarios do on the way to what they test: a customer starting the bot, a friend arriving and the
team's alert, a manager's slash command, the `referral-bot` process, and the program variations several modules
run. Test modules import these from here, never from each other."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app.demo import TOKEN
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from bot.program.sections import Incentives, LocalizedText, RewardRule, Variant
from handlers.http.landing_server import LandingServer
from handlers.http.server import HttpServer
from handlers.slack.blocks import SCRIPT_BLOCK
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, BOT_USERNAME, RITA, ROOT, Operator, eventually

# --- A customer on Telegram -----------------------------------------------------------------------

LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9]+)")


async def start(telegram: TelegramEmulator, user_id: int, name: str, language: str = "en") -> tuple[str, SentMessage]:
    """The customer sends /start; returns their referral code and the welcome."""
    person = telegram.user(user_id, name, language_code=language)
    await telegram.send_command(person, "start")
    (welcome,) = await telegram.wait_for_messages(user_id, 1)
    match = LINK.search(welcome.text)
    assert match, welcome.text
    return match.group(1), welcome


async def converse(telegram: TelegramEmulator, user_id: int, *texts: str) -> list[SentMessage]:
    """Send each text and return the bot's reply to each."""
    person = telegram.user(user_id, "Ana")
    replies = []
    for text in texts:
        before = len(telegram.messages(user_id))
        await telegram.send_text(person, text)
        replies.append((await telegram.wait_for_messages(user_id, before + 1))[before])
    return replies


async def next_message(telegram: TelegramEmulator, user_id: int, before: int) -> SentMessage:
    return (await telegram.wait_for_messages(user_id, before + 1))[before]


async def say(telegram: TelegramEmulator, user_id: int, name: str, text: str) -> SentMessage:
    before = len(telegram.messages(user_id))
    await telegram.send_text(telegram.user(user_id, name), text)
    return await next_message(telegram, user_id, before)


async def said(telegram: TelegramEmulator, chat_id: int, fragment: str) -> str:
    """The message in the chat containing `fragment`, once it arrives (other features may talk in between)."""

    def found() -> list[str]:
        return [m.text for m in telegram.messages(chat_id) if m.text and fragment in m.text]

    await eventually(lambda: bool(found()))
    return found()[0]


async def feedback_question(telegram: TelegramEmulator, user_id: int, name: str) -> SentMessage:
    """The customer sends /feedback and gets the question."""
    before = len(telegram.messages(user_id))
    await telegram.send_command(telegram.user(user_id, name), "feedback")
    return await next_message(telegram, user_id, before)


def callback_data(question: SentMessage, score: int) -> str:
    return next(str(b["callback_data"]) for b in question.buttons() if b["text"] == str(score))


async def answer(telegram: TelegramEmulator, user_id: int, name: str, score: int) -> list[SentMessage]:
    """/feedback, then a tap on `score`; returns everything the bot said after the tap."""
    question = await feedback_question(telegram, user_id, name)
    before = len(telegram.messages(user_id))
    await telegram.press_button(telegram.user(user_id, name), question, callback_data(question, score))
    expected = 2 if score >= 9 else 1  # promoters are asked to refer as well
    return (await telegram.wait_for_messages(user_id, before + expected))[before:]


# --- The sales team on Slack ----------------------------------------------------------------------


async def refer_ben(telegram: TelegramEmulator, slack: SlackEmulator) -> SlackMessage:
    """Ana shares her link, Ben arrives, and the team's alert appears."""
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    return alert


def current(slack: SlackEmulator, alert: SlackMessage) -> SlackMessage:
    """The alert as it reads now, after the edits since it was posted."""
    return next(m for m in slack.messages(ALERTS) if m.ts == alert.ts)


async def ask(slack: SlackEmulator, user: str, text: str) -> str:
    """`/referrals <text>` from `user`, and the answer they see."""
    before = len(slack.responses)
    response = await slack.slash_command(user, "/referrals", text, channel_id=ALERTS)
    assert response.status == 200 and response.elapsed < 3.0
    await slack.wait_for(lambda: len(slack.responses) > before, what=f"answer to /referrals {text}")
    return str(slack.responses[-1]["text"])


async def review_queue(slack: SlackEmulator, user: str) -> SlackMessage:
    """`/referrals review` from `user`, and the list of held referrals they see (only they see it)."""
    before = len(slack.ephemerals(user))
    await ask(slack, user, "review")
    await slack.wait_for(lambda: len(slack.ephemerals(user)) > before, what="the review queue")
    return slack.ephemerals(user)[-1]


def as_seen(slack: SlackEmulator, message: SlackMessage) -> SlackMessage:
    """An ephemeral message as its one reader sees it now, after the bot replaced it."""
    return next(m for m in slack.ephemerals(message.ephemeral_to or "") if m.ts == message.ts)


def call_scripts(slack: SlackEmulator, user: str) -> list[SlackMessage]:
    """The call scripts `user` was shown privately (a claim shows the claimer one)."""
    return [m for m in slack.ephemerals(user) if m.blocks and m.blocks[0].get("block_id") == SCRIPT_BLOCK]


def told_privately(slack: SlackEmulator, user: str) -> list[str]:
    """What `user` was told privately besides call scripts, such as why a click changed nothing."""
    scripts = call_scripts(slack, user)
    return [m.text for m in slack.ephemerals(user) if m not in scripts]


async def converted_referral(
    telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    """Ben referred by Ana, claimed, contacted and converted by Rita for 950."""
    alert = await refer_ben(telegram, slack)
    clock.advance(timedelta(minutes=3))
    await slack.click(RITA, alert, "referral_claim")
    clock.advance(timedelta(minutes=7))
    await slack.click(RITA, alert, "referral_contacted")
    await slack.click(RITA, alert, "referral_converted")
    (modal,) = slack.views(RITA)
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "950"}})
    await eventually(lambda: operator.count("referrals WHERE status = 'converted'") == 1)


def home_text(slack: SlackEmulator, user: str) -> str:
    view = slack.home(user)
    assert view is not None, f"{user} has no Home view"
    return SlackMessage("", "", "", "", view["blocks"]).plain()


def publishes(slack: SlackEmulator, user: str) -> list[dict[str, Any]]:
    return [call.params for call in slack.calls if call.method == "views.publish" and call.params["user_id"] == user]


async def open_home(slack: SlackEmulator, user: str) -> None:
    before = len(publishes(slack, user))
    response = await slack.send_event(user, {"type": "app_home_opened"})
    assert response.status == 200
    await slack.wait_for(lambda: len(publishes(slack, user)) > before, what=f"{user}'s Home published")


# --- The `referral-bot` command -------------------------------------------------------------------


def environment(telegram: TelegramEmulator | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `referral-bot` process: SQLite in tmp_path, Telegram on the emulator when given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "SLACK_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'referrals.db'}",
        PROGRAM_FILE=str(ROOT / "program.example.toml"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_POLL_TIMEOUT="1",
        HTTP_PORT="0",  # a free port: bots in parallel test runs never collide on the default 8081
    )
    if telegram is not None:
        env.update(TELEGRAM_API_URL=telegram.base_url, TELEGRAM_FILE_URL=telegram.base_file_url)
    return {**env, **extra}


async def referral_bot(tmp_path: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """`python -m bot <args>` started in tmp_path, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(tmp_path: Path, *args: str, stdin: bytes | None = None, **extra: str) -> tuple[int, str, str]:
    """One `referral-bot` command to its end: exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=environment(None, tmp_path, **extra),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin or b""), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- What an operator's Prometheus reads ----------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(engine: Engine, path: str) -> tuple[int, str, str]:
    """GET a path of the bot's HTTP server: status, content type and body."""
    url = f"http://127.0.0.1:{engine.part(HttpServer).port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def scrape(engine: Engine) -> Samples:
    """Every sample as Prometheus reads it: (name, sorted labels) → value."""
    status, _, text = await get(engine, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: Any) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- The landing page ------------------------------------------------------------------------------

PUBLIC_URL = "https://refer.acme.example"  # what links say; the operator's TLS proxy maps it to LANDING_PORT
WEB_LINK = re.compile(rf"{re.escape(PUBLIC_URL)}/r/([A-Za-z0-9]+)")
LANDING: dict[str, Any] = {"public_url": PUBLIC_URL, "landing_port": 0}  # settings: the landing server on a free port


def on_landing(engine: Engine, link: str = PUBLIC_URL) -> str:
    """A public link (or PUBLIC_URL itself) as the proxy passes it on: to the landing server's own port."""
    return link.replace(PUBLIC_URL, f"http://127.0.0.1:{engine.part(LandingServer).port}", 1)


# --- Program variations ---------------------------------------------------------------------------

BEANS = RewardRule(en="a free bag of beans", kind="manual")
GIFT = RewardRule(en="15% off", es="15 % de descuento")


def with_incentives(program: Program, **changes: Any) -> Program:
    """The program with a 15% gift for the friend and a bag of beans for the referrer, and `changes`."""
    incentives = Incentives(**{"friend": GIFT, "referrer": BEANS, **changes})
    return program.model_copy(update={"incentives": incentives})


PITCH = "The coffee our office runs on. Try it on me!"
VARIANTS = (
    Variant(name="warm", weight=1, invite=LocalizedText(en=PITCH, es="El café que mueve mi oficina.")),
    Variant(name="plain", weight=1),
)


def with_variants(program: Program, variants: tuple[Variant, ...] = VARIANTS) -> Program:
    return program.model_copy(update={"variants": variants})
