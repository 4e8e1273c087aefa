"""Turns outbox rows into Bot API calls, and Bot API errors into retry decisions."""

from __future__ import annotations

import io
import warnings
from datetime import timedelta

import segno
from telegram import (
    Bot,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    SwitchInlineQueryChosenChat,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.core.models import Button, OutboxRow, Outgoing
from bot.delivery.outbox import SendFailed

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def inline_button(button: Button) -> InlineKeyboardButton:
    if button.kind == "url":
        return InlineKeyboardButton(button.text, url=button.value)
    if button.kind == "copy":
        return InlineKeyboardButton(button.text, copy_text=CopyTextButton(button.value))
    if button.kind == "share_chat":
        chosen = SwitchInlineQueryChosenChat(
            query=button.value, allow_user_chats=True, allow_group_chats=True, allow_channel_chats=True
        )
        return InlineKeyboardButton(button.text, switch_inline_query_chosen_chat=chosen)
    return InlineKeyboardButton(button.text, callback_data=button.value)


def reply_markup(message: Outgoing) -> ReplyMarkup | None:
    if message.keyboard == "remove":
        return ReplyKeyboardRemove()
    if not message.buttons:
        return None
    if message.keyboard == "reply":
        rows = [[KeyboardButton(b.text, request_contact=b.kind == "contact") for b in row] for row in message.buttons]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    return InlineKeyboardMarkup([[inline_button(b) for b in row] for row in message.buttons])


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that the int form will become a timedelta; accept either.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, row: OutboxRow) -> str | None:
        try:
            sent = await self._send_row(row)
        except RetryAfter as error:
            raise SendFailed(str(error), retry_after=retry_seconds(error), throttled=True) from error
        except Forbidden as error:
            raise SendFailed(error.message, permanent=True) from error
        except BadRequest as error:
            # Chat not found, or content Telegram refuses: sending the same bytes again cannot help.
            raise SendFailed(error.message, permanent=True) from error
        except NetworkError as error:  # refused, timed out, a 5xx: Telegram, not this message, is in trouble
            raise SendFailed(str(error), unreachable=True) from error
        except TelegramError as error:
            raise SendFailed(str(error)) from error
        return str(sent.message_id)

    async def _send_row(self, row: OutboxRow) -> Message:
        """The Bot API call for one row; a sender of rows of another kind overrides it."""
        return await self._send(Outgoing.from_payload(int(row.chat_id), row.payload))

    async def _send(self, message: Outgoing) -> Message:
        markup = reply_markup(message)
        if message.photo_of is not None:
            return await self._bot.send_photo(
                message.chat_id,
                qr_png(message.photo_of),
                caption=message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return await self._bot.send_message(
            message.chat_id,
            message.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
