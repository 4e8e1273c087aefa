"""With PUBLIC_URL set, every customer's link also has a web page: shown beside the t.me link in the welcome, in the
invite card a customer shares, and as a QR code of its own. Without it, nothing of the web appears."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from handlers.telegram.sender import qr_png
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator, settings_for
from helpers import LANDING, PUBLIC_URL, start


@pytest.fixture
async def bot(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    async with await build_engine(settings_for(telegram, operator.database, **LANDING), program, clock) as running:
        yield running


async def test_the_welcome_shows_the_web_page_beside_the_telegram_link(bot: Engine, telegram: TelegramEmulator) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    web = f"{PUBLIC_URL}/r/{code}"
    assert (
        f"Your link: https://t.me/AcmeReferralBot?start={code}\nFor friends without Telegram, your web page: {web}"
        in welcome.text
    )
    assert welcome.button("Web page")["url"] == web


async def test_the_web_page_has_a_qr_code_of_its_own(
    bot: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "qrw")
    photo = (await telegram.wait_for_messages(1001, 2))[1]
    web = f"{PUBLIC_URL}/r/{code}"
    assert photo.photo == qr_png(web)
    assert (photo.caption or "").startswith(
        "Your personal QR code for Acme Coffee's web page, for friends without Telegram."
    )
    assert operator.rows("SELECT channel FROM share_events") == [{"channel": "qr_web"}]


async def test_the_invite_card_carries_the_web_page_for_friends_without_telegram(
    bot: Engine, telegram: TelegramEmulator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    _, query_id = await telegram.inline_query(telegram.user(1001, "Ana"), "")
    (card,) = await telegram.wait_for_inline_answer(query_id)
    assert (
        f"No Telegram? Leave your details here: {PUBLIC_URL}/r/{code}" in card["input_message_content"]["message_text"]
    )


async def test_without_a_public_url_no_web_link_appears(engine: Engine, telegram: TelegramEmulator) -> None:
    _, welcome = await start(telegram, 1001, "Ana")
    assert "web page" not in welcome.text and all("Web" not in b["text"] for b in welcome.buttons())
