"""Sends a referral-kit file into a customer's chat (the outbox rows /kit writes, of kind `kit_file`).

Telegram keeps every file a bot uploads and hands back a file_id that sends it again, in any chat and in inline
results, without the bytes. So a kit file is uploaded from disk only the first time; its file_id is kept in the
database under the file's kind and digest, and every later send, on any instance, reuses it. A file_id Telegram no
longer accepts (a new bot token) falls back to the upload, which stores the new id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.core.models import OutboxRow, Outgoing
from bot.delivery.outbox import SendFailed
from handlers.telegram.sender import TelegramSender, reply_markup

log = logging.getLogger(__name__)


class KitFiles(Protocol):
    async def kit_files(self) -> dict[tuple[str, str], str]: ...
    async def remember_kit_file(self, kind: str, digest: str, file_id: str, at: datetime) -> None: ...


def _stale(error: BadRequest) -> bool:
    """Telegram does not know the file_id (it belongs to another bot, or is malformed)."""
    reason = error.message.lower()
    return "file identifier" in reason or "file_id" in reason


class KitFileSender(TelegramSender):
    def __init__(self, bot: Bot, files: KitFiles, now: Callable[[], datetime]) -> None:
        super().__init__(bot)
        self._files = files
        self._now = now

    async def _send_row(self, row: OutboxRow) -> Message:
        message = Outgoing.from_payload(int(row.chat_id), row.payload)
        file: dict[str, str] = row.payload["file"]
        file_id = (await self._files.kit_files()).get((file["kind"], file["digest"]))
        if file_id is not None:
            try:
                return await self._post(message, file, file_id)
            except BadRequest as error:
                if not _stale(error):
                    raise
                log.warning("kit file %s: Telegram refused its file_id (%s); uploading it again", file["name"], error)
        sent = await self._post(message, file, await _read(Path(file["path"])))
        await self._remember(file, sent)
        return sent

    async def _post(self, message: Outgoing, file: dict[str, str], content: str | bytes) -> Message:
        common: dict[str, Any] = {
            "caption": message.text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": reply_markup(message),
            "filename": file["name"],
        }
        if file["kind"] == "photo":
            return await self._bot.send_photo(message.chat_id, content, **common)
        return await self._bot.send_document(message.chat_id, content, **common)

    async def _remember(self, file: dict[str, str], sent: Message) -> None:
        uploaded = sent.photo[-1].file_id if sent.photo else sent.document.file_id if sent.document else None
        if uploaded is None:
            return
        try:
            await self._files.remember_kit_file(file["kind"], file["digest"], uploaded, self._now())
        except Exception:  # the file reached the chat; unrecorded, it is only uploaded once more next time
            log.warning("kit file %s: sent, but its file_id could not be stored", file["name"], exc_info=True)


async def _read(path: Path) -> bytes:
    """The file as it is now; up to 50 MB, so read off the event loop."""
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:  # moved or deleted since the program was loaded: sending again cannot help
        raise SendFailed(
            f"kit file {path} cannot be read ({exc.strerror}); run `referral-bot check`", permanent=True
        ) from None
