"""A referral-kit card as Telegram's inline result: the cached photo or document when the file was uploaded before
(its caption the item's text and the customer's link), otherwise an article carrying the same as a message."""

from __future__ import annotations

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResult,
    InlineQueryResultArticle,
    InlineQueryResultCachedDocument,
    InlineQueryResultCachedPhoto,
    InputTextMessageContent,
)
from telegram.constants import ParseMode

from bot.program.kit_screens import KitCard
from handlers.telegram.sender import inline_button


def kit_result(card: KitCard) -> InlineQueryResult:
    markup = InlineKeyboardMarkup([[inline_button(button)] for button in card.buttons])
    html, text, about = ParseMode.HTML, card.text, card.description
    if card.kind == "photo" and card.file_id is not None:
        return InlineQueryResultCachedPhoto(
            card.result_id, card.file_id, card.title, about, text, reply_markup=markup, parse_mode=html
        )
    if card.kind == "document" and card.file_id is not None:
        return InlineQueryResultCachedDocument(
            card.result_id, card.title, card.file_id, about, text, reply_markup=markup, parse_mode=html
        )
    content = InputTextMessageContent(text, parse_mode=html)
    return InlineQueryResultArticle(card.result_id, card.title, content, markup, description=about)
