"""Help, language, opting out, privacy and 'my referrals', in English, Spanish and Persian."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.demo import TOKEN
from bot.core.engine import Engine
from sandbox.telegram_api import TelegramEmulator

from conftest import Operator
from helpers import start

RLM = "\u200f"


async def test_help_lists_the_commands(engine: Engine, telegram: TelegramEmulator) -> None:
    await telegram.send_command(telegram.user(1001, "Ana"), "help")
    (reply,) = await telegram.wait_for_messages(1001, 1)
    for command in ("/start", "/refer", "/referrals", "/language", "/stop", "/privacy"):
        assert command in reply.text
    await telegram.send_command(telegram.user(1001, "Ana"), "frobnicate")
    assert "I do not know that command" in (await telegram.wait_for_messages(1001, 2))[1].text


async def test_language_switches_every_later_message(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await telegram.send_command(telegram.user(1001, "Ana"), "language")
    (menu,) = await telegram.wait_for_messages(1001, 1)
    assert [b["text"] for b in menu.buttons()] == ["English", "Español", "فارسی"]
    await telegram.press_button(telegram.user(1001, "Ana"), menu, "lang:es")
    confirmed = (await telegram.wait_for_messages(1001, 2))[1]
    assert "español" in confirmed.text
    await telegram.send_command(telegram.user(1001, "Ana"), "start")
    welcome = (await telegram.wait_for_messages(1001, 3))[2]
    assert "Oficinas de 5 a 50 personas" in welcome.text
    assert operator.rows("SELECT language FROM customers") == [{"language": "es"}]


async def test_a_persian_customer_reads_right_to_left(engine: Engine, telegram: TelegramEmulator) -> None:
    _, welcome = await start(telegram, 1005, "Sara", language="fa")
    lines = [line for line in welcome.text.split("\n") if line.strip()]
    assert all(line.startswith(RLM) for line in lines)
    assert any("https://t.me/" in line for line in lines)  # a line that holds a Latin link is still marked
    assert "دفترهای ۵ تا ۵۰ نفره" in welcome.text
    assert [b["text"] for b in welcome.buttons()] != []


async def test_stop_opts_out_of_asks_and_resume_undoes_it(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await telegram.send_command(telegram.user(1001, "Ana"), "stop")
    (stopped,) = await telegram.wait_for_messages(1001, 1)
    assert "we will not ask you to refer anyone again" in stopped.text
    (row,) = operator.rows("SELECT asks_opted_out, opted_out_at FROM customers")
    assert row["asks_opted_out"] == 1 and row["opted_out_at"] is not None
    await telegram.press_button(telegram.user(1001, "Ana"), stopped, "resume")
    assert "Welcome back!" in (await telegram.wait_for_messages(1001, 2))[1].text
    assert operator.rows("SELECT asks_opted_out, opted_out_at FROM customers") == [
        {"asks_opted_out": 0, "opted_out_at": None}
    ]


async def test_privacy_shows_what_is_stored(engine: Engine, telegram: TelegramEmulator) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    ben = telegram.user(2001, "Ben", username="benny")
    await telegram.open_deep_link(ben, code)
    await telegram.share_contact(ben, phone_number="+15550001111")
    await telegram.wait_for_messages(2001, 2)
    await telegram.send_command(ben, "privacy")
    privacy = (await telegram.wait_for_messages(2001, 3))[2]
    assert "Name: Ben" in privacy.text and "Username: @benny" in privacy.text
    assert "Phone: +15550001111 (you agreed on" in privacy.text
    assert "You joined through a friend's invitation" in privacy.text


async def test_my_referrals_lists_status_and_rewards(engine: Engine, telegram: TelegramEmulator) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "<b>Ben</b> & <script>"), code)
    thanks = (await telegram.wait_for_messages(1001, 2))[1]
    assert thanks.text.startswith("Thank you, Ana! <b>Ben</b> & <script> just joined")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "mine")
    mine = (await telegram.wait_for_messages(1001, 3))[2]
    assert "• <b>Ben</b> & <script>: waiting for our team" in mine.text
    assert "• a free 1 kg bag of beans when your friend becomes a customer: on its way" in mine.text


async def test_the_command_menu_is_published_in_each_language(engine: Engine, telegram: TelegramEmulator) -> None:
    menus = {
        (r.params.get("language_code"), tuple(c["command"] for c in r.params["commands"])): r.params["commands"]
        for r in telegram.requests
        if r.method.lower() == "setmycommands"
    }
    mine = ("start", "refer", "referrals", "kit")  # /kit is there because the example program has a kit
    names = (*mine, "feedback", "survey", "language", "stop", "privacy", "forget", "help")
    assert set(menus) == {(None, names), ("es", names), ("fa", names)}
    assert menus[(None, names)][0]["description"] == "Your personal link and share buttons"
    assert menus[("es", names)][1]["description"] == "Recomienda directamente a alguien"


async def test_a_button_this_version_does_not_know_gets_a_clear_answer(
    engine: Engine, telegram: TelegramEmulator
) -> None:
    await start(telegram, 1001, "Ana")
    # A message still in Ana's chat from some other version of the bot, with a button this one never sends.
    async with Bot(TOKEN, base_url=telegram.base_url) as old_bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="claim:7")]])
        await old_bot.send_message(1001, "Claim your gift", reply_markup=keyboard)
    old = (await telegram.wait_for_messages(1001, 2))[1]
    await telegram.press_button(telegram.user(1001, "Ana"), old, "claim:7")
    answer = (await telegram.wait_for_messages(1001, 3))[2]
    assert answer.text == "That button no longer works. Send /start for the menu."
