"""The Telegram emulator, driven by the real python-telegram-bot client over loopback HTTP."""

import asyncio
import datetime as dt
import io
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import segno
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from sandbox import TelegramEmulator

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture(autouse=True)
def _retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB warns when RetryAfter is built unless opted in, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, bot_username="AcmeReferralBot", bot_name="Acme Referrals") as emulator:
        emulator.user(1001, "Ana", username="ana", language_code="en")
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


def message_of(update: Update) -> Message:
    """The update's message, which the update in hand must carry."""
    assert update.message is not None, update
    return update.message


async def test_the_bot_knows_who_it_is(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.first_name, me.is_bot) == ("AcmeReferralBot", "Acme Referrals", True)


async def test_a_wrong_token_is_unauthorized(emu: TelegramEmulator) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:WRONG", base_url=emu.base_url):
            pass
    assert [(r.method, r.status, r.description) for r in emu.requests] == [("getMe", 401, "Unauthorized")]


async def test_html_becomes_visible_text_and_entities(emu: TelegramEmulator, bot: Bot) -> None:
    html = '<b>Hi Ana</b> 🎁 &lt;3 <a href="https://t.me/AcmeReferralBot?start=abc&amp;x=1">your link</a>'
    sent = await bot.send_message(1001, html, parse_mode="HTML")

    (seen,) = emu.messages(1001)
    assert seen.text == sent.text == "Hi Ana 🎁 <3 your link"
    assert seen.html == html
    link = {"type": "text_link", "offset": 13, "length": 9, "url": "https://t.me/AcmeReferralBot?start=abc&x=1"}
    assert seen.entities == ({"type": "bold", "offset": 0, "length": 6}, link)  # 🎁 counts two UTF-16 units


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", 'can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'unsupported start tag "" at byte offset 2'),
        ("<script>alert(1)</script>", 'unsupported start tag "script" at byte offset 0'),
        ("Tom & Jerry", 'character "&" must be escaped as "&amp;" at byte offset 4'),
        ("<b>x</i>", "unmatched end tag at byte offset 4"),
        ("x</b>", "unexpected end tag at byte offset 1"),
    ],
)
async def test_malformed_html_is_refused_like_telegram(bot: Bot, html: str, reason: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as refused:
        await bot.send_message(1001, html, parse_mode="HTML")
    assert reason in str(refused.value).lower()


async def test_length_limits_count_visible_characters(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(1001, f"<b>{'x' * 4096}</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1001, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1001, "<b></b>", parse_mode="HTML")
    assert len(emu.messages(1001)) == 1


async def test_buttons_are_checked(emu: TelegramEmulator, bot: Bot) -> None:
    # PTB capitalizes Telegram's descriptions: "BUTTON_DATA_INVALID" arrives as "Button_data_invalid".
    await bot.send_message(1001, "ok", reply_markup=keyboard(InlineKeyboardButton("Go", callback_data="é" * 32)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1001, "no", reply_markup=keyboard(InlineKeyboardButton("Go", callback_data="x" * 65)))
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await bot.send_message(1001, "no", reply_markup=keyboard(InlineKeyboardButton("Go", url="javascript:x")))
    assert [message.text for message in emu.messages(1001)] == ["ok"]


async def test_unknown_and_blocked_chats(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(4242, "hello stranger")
    emu.block_bot(1001)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "still there?")
    await emu.send_command(emu.user(1001, "Ana"), "start")  # writing to the bot again unblocks it
    await bot.send_message(1001, "welcome back")
    assert [message.text for message in emu.messages(1001)] == ["welcome back"]


async def test_flood_control_answers_retry_after(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user(1002, "Ben")
    emu.fail_with_429(retry_after=7, for_seconds=0.3, methods={"sendMessage"}, chat_id=1001)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(1001, "too fast")
    assert flood.value.retry_after == dt.timedelta(seconds=7)
    await bot.send_message(1002, "other chats are fine")
    await asyncio.sleep(0.35)
    await bot.send_message(1001, "after the window")
    assert [request.status for request in emu.requests if request.method == "sendMessage"] == [429, 200, 200]
    assert [message.text for message in emu.messages(1001)] == ["after the window"]


async def test_fail_next_injects_one_error(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("sendmessage", 400, "Bad Request: something odd")
    with pytest.raises(BadRequest, match="Something odd"):
        await bot.send_message(1001, "first")
    await bot.send_message(1001, "second")
    assert [message.text for message in emu.messages(1001)] == ["second"]


async def test_get_updates_offset_confirms_for_good_and_replay_redelivers(emu: TelegramEmulator, bot: Bot) -> None:
    ana = emu.user(1001, "Ana")
    first = await emu.send_command(ana, "start", "abc")
    second = await emu.send_text(ana, "hello")
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates()] == [first, second]  # unconfirmed: delivered again

    third = await emu.send_text(ana, "again")
    assert [u.update_id for u in await bot.get_updates(offset=second + 1)] == [third]
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [third]  # confirmed ones never return
    assert (emu.pending_updates(), emu.confirmed_offset) == (1, second + 1)

    await emu.replay(first)
    (replayed,) = await bot.get_updates(offset=third + 1)
    assert replayed.update_id == first and message_of(replayed).text == "/start abc"
    assert await bot.get_updates(offset=third + 1) == ()


async def test_commands_and_deep_links_look_like_telegram(emu: TelegramEmulator, bot: Bot) -> None:
    ben = emu.user(2001, "Ben", username="ben")
    link = "https://t.me/AcmeReferralBot?start=ref_AbC-123"
    payload = emu.deep_link_payload(link)
    assert payload == "ref_AbC-123"
    assert emu.deep_link_payload("https://t.me/OtherBot?start=ref_AbC-123") is None
    await emu.open_deep_link(ben, payload)
    (update,) = await bot.get_updates()
    message = message_of(update)
    assert message.text == "/start ref_AbC-123"
    assert message.parse_entities() == {message.entities[0]: "/start"}
    assert message.from_user is not None and message.chat.id == message.from_user.id == 2001


async def test_long_poll_returns_as_soon_as_an_update_arrives() -> None:
    async with (
        TelegramEmulator(token=TOKEN, long_poll_cap=10.0) as emu,
        Bot(TOKEN, base_url=emu.base_url) as bot,
    ):
        ana = emu.user(1001, "Ana")
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.2)
        await emu.send_text(ana, "hi")
        (update,) = await asyncio.wait_for(poll, 2)
        assert message_of(update).text == "hi"
        assert time.monotonic() - started < 1.5


async def test_a_second_poller_ends_the_first_with_conflict(emu: TelegramEmulator, bot: Bot) -> None:
    async with Bot(TOKEN, base_url=emu.base_url) as second_instance:
        first_poll = asyncio.create_task(bot.get_updates(timeout=1))
        await asyncio.sleep(0.1)
        await second_instance.get_updates()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first_poll


async def test_allowed_updates_filters_what_is_delivered(emu: TelegramEmulator, bot: Bot) -> None:
    ana = emu.user(1001, "Ana")
    await bot.send_message(1001, "Pick", reply_markup=keyboard(InlineKeyboardButton("Yes", callback_data="yes")))
    await emu.send_text(ana, "ignored")
    pressed = await emu.press_button(ana, emu.messages(1001)[0], "yes")
    (update,) = await bot.get_updates(allowed_updates=["callback_query"])
    assert update.update_id == pressed
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    assert (query.data, query.message.text) == ("yes", "Pick")


async def test_photo_upload_keeps_the_png(emu: TelegramEmulator, bot: Bot) -> None:
    png = io.BytesIO()
    segno.make("https://t.me/AcmeReferralBot?start=abc").save(png, kind="png", scale=4)
    sent = await bot.send_photo(1001, png.getvalue(), caption="Scan <b>me</b>", parse_mode="HTML")

    (seen,) = emu.messages(1001)
    assert seen.photo == png.getvalue()
    assert (seen.caption, seen.text, seen.entities) == ("Scan me", "", ({"type": "bold", "offset": 5, "length": 2},))
    assert sent.photo[0].width == sent.photo[0].height > 0
    await bot.send_photo(1001, sent.photo[0].file_id)  # a file_id is reusable, as on Telegram
    assert emu.messages(1001)[1].photo == png.getvalue()


async def test_callback_answers_are_recorded_once(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(1001, "Claim?", reply_markup=keyboard(InlineKeyboardButton("Claim", callback_data="c:1")))
    message = emu.messages(1001)[0]
    assert message.button("Cla") == {"text": "Claim", "callback_data": "c:1"}
    query_id = emu.update(await emu.press_button(emu.user(1001, "Ana"), message, "c:1"))["callback_query"]["id"]
    await bot.answer_callback_query(query_id, text="Claimed", show_alert=True)
    assert await emu.wait_for_callback_answer(query_id) == {
        "callback_query_id": query_id, "text": "Claimed", "show_alert": True,
    }  # fmt: skip
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)


async def test_pressing_a_button_that_is_not_there_fails(emu: TelegramEmulator, bot: Bot) -> None:
    ana = emu.user(1001, "Ana")
    await bot.send_message(1001, "Claim?", reply_markup=keyboard(InlineKeyboardButton("Claim", callback_data="c:1")))
    with pytest.raises(AssertionError, match="no button 'c:2'"):
        await emu.press_button(ana, emu.messages(1001)[0], "c:2")
    await bot.edit_message_text("Claimed by Rita", chat_id=1001, message_id=emu.messages(1001)[0].message_id)
    with pytest.raises(AssertionError, match="no button 'c:1'"):  # editing without reply_markup drops the keyboard
        await emu.press_button(ana, emu.messages(1001)[0], "c:1")


async def test_edits_must_change_something(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_message(1001, "Status: <b>new</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Status: <b>new</b>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=sent.message_id + 5)
    await bot.edit_message_text("Status: converted", chat_id=1001, message_id=sent.message_id)
    (seen,) = emu.messages(1001)
    assert (seen.text, seen.edited, seen.entities) == ("Status: converted", True, ())


async def test_inline_answers_are_recorded(emu: TelegramEmulator, bot: Bot) -> None:
    _, query_id = await emu.inline_query(emu.user(1001, "Ana"), query="")
    (update,) = await bot.get_updates()
    share = InputTextMessageContent("Join <b>Acme</b>", parse_mode="HTML")
    assert update.inline_query is not None
    await update.inline_query.answer([InlineQueryResultArticle("share-1", "Share your link", share)])
    (answer,) = await emu.wait_for_inline_answer(query_id)
    assert (answer["id"], answer["title"]) == ("share-1", "Share your link")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(query_id, [])


async def test_contact_shared_from_a_reply_keyboard(emu: TelegramEmulator, bot: Bot) -> None:
    ben = emu.user(2001, "Ben")
    share = ReplyKeyboardMarkup([[KeyboardButton("Share my number", request_contact=True)]], one_time_keyboard=True)
    await bot.send_message(2001, "May we call you?", reply_markup=share)
    assert emu.messages(2001)[0].reply_markup == share.to_dict()
    await emu.share_contact(ben, phone_number="+15551234567")
    (update,) = await bot.get_updates()
    contact = message_of(update).contact
    assert contact is not None
    assert (contact.phone_number, contact.user_id) == ("+15551234567", 2001)


async def test_json_bodies_query_strings_and_unknown_methods(emu: TelegramEmulator) -> None:
    markup = {"inline_keyboard": [[{"text": "Open", "url": "https://example.com"}]]}
    async with httpx.AsyncClient(base_url=f"{emu.base_url}{TOKEN}/") as http:
        sent = (await http.post("sendMessage", json={"chat_id": 1001, "text": "42", "reply_markup": markup})).json()
        me = (await http.get("GETME")).json()
        unknown = await http.post("sendTelepathy")
    assert sent["ok"] and sent["result"]["text"] == "42" and sent["result"]["reply_markup"] == markup
    assert me["result"]["username"] == "AcmeReferralBot"
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    assert [(r.method, r.status) for r in emu.requests] == [
        ("sendMessage", 200),
        ("getMe", 200),
        ("sendTelepathy", 404),
    ]
