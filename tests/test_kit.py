"""The referral kit: /kit and the welcome's Kit button list the items in the customer's language, each goes into any
chat as an inline card carrying the customer's own link, a file is uploaded to Telegram once and reused, shares are
counted per item, and a bad `[[kit]]` entry is refused by `referral-bot check` naming its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.program.rules import Program, load_program
from handlers.telegram.sender import qr_png
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import BOT_USERNAME, ROOT, Operator, eventually, settings_for
from helpers import run, start

BACKENDS = ("sqlite", "postgresql")

PHOTO = qr_png("Acme house blend")  # a real PNG, as Telegram checks
DOCUMENT = b"%PDF-1.4\n% Acme Coffee office prices\n"
KIT = """
[[kit]]
title = { en = "A bag of our house blend", es = "Una bolsa de nuestra mezcla", fa = "یک بسته از قهوهٔ ما" }
photo = "kit/blend.png"
[kit.text]
en = "Roasted on Monday, at your office on Wednesday."
es = "Tostado el lunes, en tu oficina el miércoles."
fa = "دوشنبه برشته می‌شود و چهارشنبه در دفتر شماست."

[[kit]]
title = "Office price list"
text = "Plans for 5 to 50 people, delivery included."
document = "kit/prices.pdf"
"""


def kit_program(folder: Path, extra: str = KIT) -> Path:
    """The example program with a photo and a document in its kit, beside it in `folder`."""
    (folder / "kit").mkdir(exist_ok=True)
    (folder / "kit" / "blend.png").write_bytes(PHOTO)
    (folder / "kit" / "prices.pdf").write_bytes(DOCUMENT)
    path = folder / "program.toml"
    path.write_text((ROOT / "program.example.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


@pytest.fixture
def program(tmp_path: Path) -> Program:
    return load_program(kit_program(tmp_path))


def link(code: str) -> str:
    return f"https://t.me/{BOT_USERNAME}?start={code}_k"


async def open_kit(telegram: TelegramEmulator, user_id: int, name: str) -> list[SentMessage]:
    """/kit: the list, then the photo and the document, each in the customer's own chat."""
    before = len(telegram.messages(user_id))
    await telegram.send_command(telegram.user(user_id, name), "kit")
    return (await telegram.wait_for_messages(user_id, before + 3))[before:]


async def cards(telegram: TelegramEmulator, user_id: int, query: str) -> list[dict[str, Any]]:
    """What the customer's inline query `@bot <query>` is answered with."""
    _, query_id = await telegram.inline_query(telegram.user(user_id, "Ana"), query)
    return await telegram.wait_for_inline_answer(query_id)


def uploads(telegram: TelegramEmulator) -> list[str]:
    """The files the bot sent with their bytes, rather than by a file_id Telegram already had."""
    sends = [r for r in telegram.requests if r.method in ("sendPhoto", "sendDocument") and r.status == 200]
    return [r.method for r in sends if isinstance(r.params.get("photo", r.params.get("document")), bytes)]


async def test_kit_lists_every_item_in_the_customers_language(engine: Engine, telegram: TelegramEmulator) -> None:
    await start(telegram, 1001, "Ana", "es")
    listing, photo, document = await open_kit(telegram, 1001, "Ana")
    assert listing.text.startswith("Tu kit de recomendación de Acme Coffee\nEnvía cualquiera de estos a alguien")
    assert "1. Nuestra carta de cafés\nTodos los cafés que servimos" in listing.text
    assert "https://acme-coffee.example/menu" in listing.text
    assert "3. Office price list\nPlans for 5 to 50 people" in listing.text  # no Spanish given: the English
    shares = listing.buttons()
    assert [button["text"] for button in shares] == [
        "📤 Compartir: Nuestra carta de cafés",
        "📤 Compartir: Una bolsa de nuestra mezcla",
        "📤 Compartir: Office price list",
    ]
    assert [button["switch_inline_query_chosen_chat"]["query"] for button in shares] == ["kit 1", "kit 2", "kit 3"]
    assert photo.photo == PHOTO
    assert photo.caption == (
        "Una bolsa de nuestra mezcla\nTostado el lunes, en tu oficina el miércoles.\n\n"
        "Toca el botón para enviárselo a alguien con tu enlace personal."
    )
    assert photo.buttons()[0]["switch_inline_query_chosen_chat"]["query"] == "kit 2"
    assert (document.document, document.file_name) == (DOCUMENT, "prices.pdf")


async def test_kit_in_persian_reads_right_to_left(engine: Engine, telegram: TelegramEmulator) -> None:
    await start(telegram, 1003, "Dara", "fa")
    listing, photo, _ = await open_kit(telegram, 1003, "Dara")
    lines = [line for line in listing.text.split("\n") if line.strip()]
    assert lines[0] == "\u200fبستهٔ معرفی Acme Coffee شما"
    assert all(line.startswith("\u200f") for line in lines)  # each line laid out right to left
    assert "\u200f1. منوی قهوهٔ ما" in lines
    assert listing.buttons()[0]["text"] == "📤 ارسال: منوی قهوهٔ ما"
    assert photo.caption is not None and "دوشنبه برشته می‌شود و چهارشنبه در دفتر شماست." in photo.caption


async def test_the_welcome_has_a_kit_button(engine: Engine, telegram: TelegramEmulator) -> None:
    _, welcome = await start(telegram, 1001, "Ana")
    assert welcome.button("Kit")["text"] == "🧰 Kit"
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, welcome.button("Kit")["callback_data"])
    listing, photo, document = (await telegram.wait_for_messages(1001, 4))[1:]
    assert listing.text.startswith("Your Acme Coffee referral kit")
    assert "2. A bag of our house blend\nRoasted on Monday" in listing.text
    assert photo.photo == PHOTO and document.document == DOCUMENT


async def test_a_kit_card_carries_the_customers_own_link(engine: Engine, telegram: TelegramEmulator) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    (card,) = await cards(telegram, 1001, "kit 1")
    assert (card["type"], card["id"], card["title"]) == ("article", "kit-1", "Our coffee menu")
    text = card["input_message_content"]["message_text"]
    assert text.startswith("<b>Our coffee menu</b>\nEvery roast we deliver, with tasting notes and prices per bag.")
    assert "https://acme-coffee.example/menu" in text
    assert text.endswith(f"Ana invites you to <b>Acme Coffee</b>: {link(code)}")
    assert card["reply_markup"]["inline_keyboard"] == [
        [{"text": "🔗 Open", "url": "https://acme-coffee.example/menu"}],
        [{"text": "Open Acme Coffee", "url": link(code)}],
    ]


async def test_a_file_goes_up_once_then_cards_and_chats_reuse_it(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    (early,) = await cards(telegram, 1001, "kit 2")
    assert early["type"] == "article"  # not uploaded yet: the card is the item's text and link
    assert link(code) in early["input_message_content"]["message_text"]
    _, photo, document = await open_kit(telegram, 1001, "Ana")
    await eventually(lambda: operator.count("kit_files") == 2)
    menu, blend, prices = await cards(telegram, 1001, "kit")
    assert menu["type"] == "article"  # a link item stays a text card
    assert (blend["type"], blend["photo_file_id"]) == ("photo", photo.file_id)
    assert blend["caption"].endswith(f"Ana invites you to <b>Acme Coffee</b>: {link(code)}")
    assert (prices["type"], prices["document_file_id"]) == ("document", document.file_id)
    assert prices["title"] == "Office price list"
    await start(telegram, 1002, "Ben")
    _, again, again_document = await open_kit(telegram, 1002, "Ben")
    assert (again.photo, again.file_id, again_document.document) == (PHOTO, photo.file_id, DOCUMENT)
    assert uploads(telegram) == ["sendPhoto", "sendDocument"]  # Ben's copies went by file_id


async def test_a_file_id_telegram_refuses_is_replaced_by_a_new_upload(
    engine: Engine, telegram: TelegramEmulator, operator: Operator, program: Program
) -> None:
    photo = program.kit[1].file
    assert photo is not None
    # As after moving to a new bot token: the stored id belongs to a bot Telegram no longer sees as this one.
    stale = "AgACAgIAAxkBAAI999999"
    row = ("photo", photo.digest, stale, "2026-01-01T00:00:00+00:00")
    await start(telegram, 1001, "Ana")
    operator.execute("INSERT INTO kit_files (kind, digest, file_id, uploaded_at) VALUES (?, ?, ?, ?)", *row)
    _, sent, _ = await open_kit(telegram, 1001, "Ana")
    assert sent.photo == PHOTO and sent.file_id != stale
    await eventually(
        lambda: operator.rows("SELECT file_id FROM kit_files WHERE kind = 'photo'") == [{"file_id": sent.file_id}]
    )


async def test_choosing_a_kit_card_counts_a_share_of_that_item(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await start(telegram, 1001, "Ana")
    ana = telegram.user(1001, "Ana")
    for result_id in ("kit-1", "kit-2", "kit-1"):
        await telegram.choose_inline_result(ana, result_id, query="kit")
    await eventually(lambda: operator.count("share_events") == 3)
    assert operator.rows("SELECT customer_id, channel, detail FROM share_events ORDER BY detail") == [
        {"customer_id": 1001, "channel": "kit", "detail": "A bag of our house blend"},
        {"customer_id": 1001, "channel": "kit", "detail": "Our coffee menu"},
        {"customer_id": 1001, "channel": "kit", "detail": "Our coffee menu"},
    ]


async def test_a_friend_through_a_kit_card_arrives_on_the_kit_channel(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), f"{code}_k")
    (welcome,) = await telegram.wait_for_messages(2001, 1)
    assert "Ana" in welcome.text
    await eventually(lambda: operator.count("referrals") == 1)
    assert operator.rows("SELECT source, channel FROM referrals") == [{"source": "inline_share", "channel": "kit"}]


async def test_without_a_kit_there_is_no_button_and_kit_says_so(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    plain = program.model_copy(update={"kit": ()})
    async with await build_engine(settings_for(telegram, operator.database), plain, clock):
        _, welcome = await start(telegram, 1001, "Ana")
        assert not [button for button in welcome.buttons() if "Kit" in button["text"]]
        await telegram.send_command(telegram.user(1001, "Ana"), "kit")
        reply = (await telegram.wait_for_messages(1001, 2))[1]
        assert reply.text.startswith("There is nothing in the Acme Coffee referral kit yet.")
        (card,) = await cards(telegram, 1001, "kit")
        assert card["id"].startswith("invite-")  # "kit" is just a query: the invite card


async def test_check_refuses_a_missing_kit_file_naming_its_line(tmp_path: Path) -> None:
    path = kit_program(tmp_path, KIT.replace("prices.pdf", "prices-2027.pdf"))
    code, out, err = await run(tmp_path, "check", PROGRAM_FILE=str(path))
    line = path.read_text(encoding="utf-8").splitlines().index('document = "kit/prices-2027.pdf"') + 1
    assert code == 2 and out == ""
    assert f"field kit.2.document (line {line}): Value error, document file 'kit/prices-2027.pdf'" in err
    assert "does not exist (a path is relative to the program file's folder)" in err


PHOTO_LINE = 'photo = "kit/blend.png"'
DOCUMENT_LINE = 'document = "kit/prices.pdf"'
TITLE_LINE = 'title = "Office price list"'


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (PHOTO_LINE, 'photo = "kit/big.png"', "kit.1.photo", "is 10.0 MB; Telegram takes a photo of up to 10 MB"),
        (PHOTO_LINE, 'photo = "kit/prices.pdf"', "kit.1.photo", "is not a JPEG or PNG image"),
        (PHOTO_LINE, 'photo = "kit"', "kit.1.photo", "is not a file"),
        (DOCUMENT_LINE, f"{PHOTO_LINE}\n{DOCUMENT_LINE}", "kit.2", "has a photo or a document, not both"),
        (DOCUMENT_LINE, "", "kit.2", "needs something to share: a url, a photo or a document"),
        (DOCUMENT_LINE, f'url = "acme.example"\n{DOCUMENT_LINE}', "kit.2.url", "'acme.example' is not a web address"),
        (TITLE_LINE, 'title = "Our Coffee Menu"', "kit", "kit items need distinct titles"),
        (TITLE_LINE, 'title = ""', "kit.2.title.en", "String should have at least 1 character"),
        (TITLE_LINE, f'title = "{"x" * 65}"', "kit.2.title.en", "String should have at most 64 characters"),
    ],
)
def test_a_bad_kit_entry_names_its_field_and_line(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    path = kit_program(tmp_path)
    with (tmp_path / "kit" / "big.png").open("wb") as big:
        big.write(PHOTO)
        big.truncate(10 * 1024 * 1024 + 1)  # one byte over Telegram's limit for a photo (sparse: no disk used)
    text = path.read_text(encoding="utf-8")
    changed = text.replace(old, new)
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_program(path)
    lines = changed.splitlines()
    # The line named is the key's own, in the item it is in, or that item's [[kit]] header.
    named = lines[int(str(caught.value).split("(line ")[1].split(")")[0]) - 1]
    key = field.split(".")[2] if field.count(".") >= 2 else "[[kit]]"
    assert f"field {field} (line " in str(caught.value) and message in str(caught.value)
    assert named.startswith(key), (named, str(caught.value))


def test_a_kit_of_more_than_ten_items_is_refused(tmp_path: Path) -> None:
    more = "".join(f'\n[[kit]]\ntitle = "Item {n}"\ntext = "x"\nurl = "https://e.example/{n}"\n' for n in range(8))
    with pytest.raises(ConfigError, match=r"field kit \(line \d+\): Tuple should have at most 10 items"):
        load_program(kit_program(tmp_path, KIT + more))
