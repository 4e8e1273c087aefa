"""TEMPLATES_DIR: a business's own templates win file by file, the rest stay built-in, and a broken one
stops start-up with a line that names it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.program.rules import Program
from bot.program.settings import load_settings
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import MAYA, RITA, Operator, settings_for, slack_settings
from helpers import LINK, ask, environment, referral_bot

PERSIAN_WELCOME = "{{ customer.first_name }} عزیز، به باشگاه قهوهٔ ما خوش آمدی!\n\nلینک تو: {{ link }}\n"
SLACK_HELP = "*Acme referrals, our way.* Ask Maya.{% if manager %} You may see the figures.{% endif %}\n"


@pytest.fixture
def business(tmp_path: Path) -> Path:
    """A business folder overriding one Telegram template in one locale and one Slack template."""
    folder = tmp_path / "our-templates"
    (folder / "fa").mkdir(parents=True)
    (folder / "en").mkdir()
    (folder / "fa" / "welcome.html").write_text(PERSIAN_WELCOME, encoding="utf-8")
    (folder / "en" / "help.mrkdwn").write_text(SLACK_HELP, encoding="utf-8")
    return folder


async def welcome_of(telegram: TelegramEmulator, user_id: int, name: str, language: str) -> str:
    await telegram.send_command(telegram.user(user_id, name, language_code=language), "start")
    (welcome,) = await telegram.wait_for_messages(user_id, 1)
    return welcome.text


async def test_overrides_change_only_their_own_messages(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    business: Path,
) -> None:
    settings = settings_for(telegram, operator.path, templates_dir=business, **slack_settings(slack))
    async with await build_engine(settings, program, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        persian = await welcome_of(telegram, 1001, "Sara", "fa")
        english = await welcome_of(telegram, 1002, "Ana", "en")
        spanish = await welcome_of(telegram, 1003, "Eva", "es")
        await telegram.send_command(telegram.user(1001, "Sara", language_code="fa"), "help")
        persian_help = (await telegram.wait_for_messages(1001, 2))[1].text
        help_text = await ask(slack, MAYA, "help")
        pending = await ask(slack, RITA, "pending")
    assert persian.startswith("\u200fSara عزیز، به باشگاه قهوهٔ ما خوش آمدی!")
    assert LINK.search(persian)  # the override gets the same variables as the built-in template
    assert english.startswith("Hi Ana, welcome to the Acme Coffee referral program!")
    assert spanish.startswith("¡Hola, Eva! Te damos la bienvenida")
    assert "/refer" in persian_help and "برنامهٔ معرفی Acme Coffee" in persian_help  # fa/help.html: built-in
    assert help_text == "*Acme referrals, our way.* Ask Maya. You may see the figures."
    assert pending == "*Waiting for the team* (0)\nNothing pending. Nice work!"  # built-in


def test_a_broken_override_names_the_file_and_line(business: Path) -> None:
    broken = business / "en" / "referrer_thanks.html"
    broken.write_text("Thanks {{ customer.first_name }}!\n{% if held %}On hold.\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(templates_dir=business)
    assert str(error.value).startswith(f"setting TEMPLATES_DIR: Value error, {broken}: line 2: ")
    assert "endif" in str(error.value)


def test_a_broken_labels_file_or_a_missing_folder_is_named_too(business: Path, tmp_path: Path) -> None:
    labels = business / "es" / "labels.toml"
    labels.parent.mkdir()
    labels.write_text('skip = "Saltar\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"setting TEMPLATES_DIR: .*{labels}: "):
        load_settings(templates_dir=business)
    with pytest.raises(ConfigError, match="is not a folder"):
        load_settings(templates_dir=tmp_path / "nowhere")


async def test_referral_bot_run_refuses_to_start_with_a_broken_override(business: Path, tmp_path: Path) -> None:
    (business / "fa" / "welcome.html").write_text("سلام {{ customer.first_name }\n", encoding="utf-8")
    process = await referral_bot(tmp_path, environment(None, tmp_path, TEMPLATES_DIR=str(business)), "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        "referral-bot run: setting TEMPLATES_DIR: Value error,"
        f" {business / 'fa' / 'welcome.html'}: line 1: unexpected '}}'"
    )


def test_an_email_is_overridden_part_by_part(tmp_path: Path) -> None:
    """A business's own text part of the friend's welcome e-mail wins; its HTML part stays built-in."""
    from messages import Renderer

    folder = tmp_path / "our-templates"
    (folder / "en" / "email").mkdir(parents=True)
    (folder / "en" / "email" / "friend_welcome.txt").write_text(
        "Hey {{ friend_name }}, coffee soon!\n", encoding="utf-8"
    )
    context = {"friend_name": "Ben", "referrer_name": "Ana", "program": "Acme Coffee", "friend_incentive": "15% off"}
    html, text = Renderer(folder).email(
        "en", "friend_welcome", telegram_url="https://t.me/x", unsubscribe_url=None, **context
    )
    assert text == "Hey Ben, coffee soon!"
    assert "Ana thought you would like Acme Coffee" in html
