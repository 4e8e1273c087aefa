"""A customer starts the bot: the welcome, the ideal customer first, the personal link and the share buttons."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from bot.core.engine import Engine
from handlers.telegram.sender import qr_png
from sandbox.telegram_api import TelegramEmulator

from conftest import BOT_USERNAME, Operator, eventually
from helpers import start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def test_welcome_shows_who_is_a_fit_before_the_personal_link(engine: Engine, telegram: TelegramEmulator) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    text = welcome.text
    assert text.startswith("Hi Ana, welcome to the Acme Coffee referral program!")
    assert text.index("Who is a great fit") < text.index("Offices of 5 to 50 people") < text.index(code)
    assert "15% off your first three deliveries" in text
    assert len(code) == 12 and code.isalnum()


async def test_every_share_button_carries_the_personal_link(engine: Engine, telegram: TelegramEmulator) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    link = f"https://t.me/{BOT_USERNAME}?start={code}"
    share_in_chat = welcome.button("Share in a chat")
    chosen = share_in_chat["switch_inline_query_chosen_chat"]
    assert chosen["allow_user_chats"] and chosen["allow_group_chats"]
    page = urlparse(welcome.button("✉️")["url"])
    assert (page.netloc, page.path) == ("t.me", "/share/url")
    assert parse_qs(page.query)["url"] == [f"{link}_s"]
    assert "Acme Coffee" in parse_qs(page.query)["text"][0]
    assert welcome.button("Copy link")["copy_text"] == {"text": f"{link}_c"}
    assert {b["text"] for b in welcome.buttons()} >= {"🔳 QR code", "🤝 Refer a friend", "📊 My referrals"}


async def test_codes_differ_per_customer_and_survive_a_second_start(engine: Engine, telegram: TelegramEmulator) -> None:
    ana_code, _ = await start(telegram, 1001, "Ana")
    ben_code, _ = await start(telegram, 1002, "Ben")
    assert ana_code != ben_code
    await telegram.send_command(telegram.user(1001, "Ana"), "start")
    again = (await telegram.wait_for_messages(1001, 2))[1]
    assert again.text.startswith("Welcome back, Ana!")
    assert f"start={ana_code}" in again.text


async def test_qr_code_is_a_png_of_the_link(engine: Engine, telegram: TelegramEmulator, operator: Operator) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "qr")
    photo = (await telegram.wait_for_messages(1001, 2))[1]
    expected = f"https://t.me/{BOT_USERNAME}?start={code}_q"
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
    assert photo.photo == qr_png(expected)
    assert expected in (photo.caption or photo.text)
    assert operator.rows("SELECT channel FROM share_events") == [{"channel": "qr"}]


async def test_inline_share_offers_a_personal_card_and_counts_the_share(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    ana = telegram.user(1001, "Ana")
    _, query_id = await telegram.inline_query(ana, "")
    (card,) = await telegram.wait_for_inline_answer(query_id)
    assert "Ana invites you to <b>Acme Coffee</b>" in card["input_message_content"]["message_text"]
    assert card["input_message_content"]["parse_mode"] == "HTML"
    (button,) = card["reply_markup"]["inline_keyboard"][0]
    assert button["url"] == f"https://t.me/{BOT_USERNAME}?start={code}_i"
    await telegram.choose_inline_result(ana, card["id"])
    await eventually(lambda: operator.count("share_events") == 1)
    assert operator.rows("SELECT customer_id, channel FROM share_events") == [
        {"customer_id": 1001, "channel": "inline"}
    ]


@pytest.mark.parametrize("query", ["", "kit 1"])  # the invite card, and a referral kit item's card
async def test_inline_query_from_a_stranger_offers_to_start_the_bot(
    engine: Engine, telegram: TelegramEmulator, query: str
) -> None:
    stranger = telegram.user(3003, "Zed")
    _, query_id = await telegram.inline_query(stranger, query)
    assert await telegram.wait_for_inline_answer(query_id) == []
    params = next(r.params for r in telegram.requests if r.method.lower() == "answerinlinequery")
    assert params["button"]["text"] == "Start the bot to get your link"
