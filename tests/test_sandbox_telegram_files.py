"""The Telegram emulator's files, driven by the real python-telegram-bot client: documents, file_ids reused in chats
and in cached inline results, refused as Telegram refuses them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineQueryResult, InlineQueryResultCachedDocument, InlineQueryResultCachedPhoto
from telegram.error import BadRequest

from handlers.telegram.sender import qr_png
from sandbox import TelegramEmulator

TOKEN = "123456:TEST-TOKEN"
PDF = b"%PDF-1.4\n% prices\n"


@pytest.fixture(autouse=True)
def _retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB warns otherwise, and warnings are errors here


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN) as emulator:
        emulator.user(1001, "Ana", language_code="en")
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


async def test_a_document_goes_up_with_its_name_and_is_sent_again_by_file_id(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_document(1001, PDF, filename="prices.pdf", caption="Our <b>prices</b>", parse_mode="HTML")
    assert sent.document is not None and sent.caption == "Our prices"
    assert (sent.document.file_name, sent.document.file_size) == ("prices.pdf", len(PDF))
    again = await bot.send_document(1001, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    first, second = emu.messages(1001)
    assert (first.document, first.file_name, second.document) == (PDF, "prices.pdf", PDF)
    with pytest.raises(BadRequest, match=r"(?i)can.t use file of type Document as Photo"):
        await bot.send_photo(1001, sent.document.file_id)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(1001, "BQACAgIAAxkBAAI999999")


async def test_cached_inline_results_must_name_a_file_the_bot_sent(emu: TelegramEmulator, bot: Bot) -> None:
    photo = (await bot.send_photo(1001, qr_png("hello"))).photo[-1].file_id
    document = await bot.send_document(1001, PDF, filename="prices.pdf")
    assert document.document is not None
    good = [
        InlineQueryResultCachedPhoto("p", photo, caption="A <b>photo</b>", parse_mode="HTML"),
        InlineQueryResultCachedDocument("d", "Prices", document.document.file_id, caption="Prices"),
    ]
    _, query_id = await emu.inline_query(emu.user(1001, "Ana"), "kit")
    await bot.answer_inline_query(query_id, good)
    assert [result["type"] for result in await emu.wait_for_inline_answer(query_id)] == ["photo", "document"]
    refused: dict[str, list[InlineQueryResult]] = {
        "(?i)wrong file identifier": [InlineQueryResultCachedPhoto("p", "AgACAgIAAxkBAAI999999")],
        "(?i)can.t use file of type Photo as Document": [InlineQueryResultCachedDocument("d", "Prices", photo)],
        "(?i)message caption is too long": [InlineQueryResultCachedPhoto("p", photo, caption="x" * 1025)],
    }
    for reason, results in refused.items():
        _, query_id = await emu.inline_query(emu.user(1001, "Ana"), "kit")
        with pytest.raises(BadRequest, match=reason):
            await bot.answer_inline_query(query_id, results)
