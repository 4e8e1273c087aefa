"""Delivers e-mail outbox rows over SMTP, on one connection kept open from send to send.

Once the connection is lost during DATA, SMTP cannot say whether the server accepted the message. So, with the
envelope accepted and just before DATA, the sender records in a commit of its own that the exchange began
(`Store.begin_email`). A row found recorded there later, after the bot stopped mid-send, becomes a dead letter
rather than a second mail; a refusal, which delivered nothing, removes the record so the retry may send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from aiolimiter import AsyncLimiter
from aiosmtplib import SMTP, SMTPException, SMTPResponseException

from bot.core.models import OutboxRow
from bot.delivery.outbox import SendFailed
from handlers.email.config import SmtpConfig
from handlers.email.failures import (
    BEGUN_BEFORE,
    LOST_IN_DATA,
    connect_failure,
    lost_before_data,
    refusal,
    stale,
)
from handlers.email.message import compose, flatten


class EmailAttempts(Protocol):
    """The store's record of SMTP exchanges begun (storage/email_sql.py)."""

    async def begin_email(self, outbox_id: str, at: datetime) -> bool: ...
    async def end_email_attempt(self, outbox_id: str) -> None: ...


class EmailSender:
    """Async context manager holding the SMTP connection. `per_second` paces all mail together (a provider's
    sending limit); the dispatcher's per-chat rate paces each recipient."""

    def __init__(
        self, config: SmtpConfig, store: EmailAttempts, now: Callable[[], datetime], per_second: float | None = None
    ) -> None:
        self._config = config
        self._store = store
        self._now = now
        self._pace = AsyncLimiter(1, 1 / per_second) if per_second else None
        self._lock = asyncio.Lock()  # one SMTP transaction at a time on the one connection
        self._smtp: SMTP | None = None

    async def __aenter__(self) -> EmailSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            with contextlib.suppress(SMTPException, OSError):
                await smtp.quit()
        if smtp is not None:
            smtp.close()

    async def send(self, row: OutboxRow) -> str | None:
        try:
            message = compose(row, self._config, self._now())
        except ValueError as error:
            raise SendFailed(f"the e-mail to {row.chat_id} cannot be sent: {error}", permanent=True) from None
        if self._pace is not None:
            await self._pace.acquire()
        async with self._lock:
            try:
                await self._exchange(row, message)
            except BaseException:
                self._drop()  # whatever went wrong, the next send starts on a fresh connection
                raise
        return str(message["Message-ID"])

    async def _exchange(self, row: OutboxRow, message: EmailMessage) -> None:
        utf8 = not (self._config.sender_address + row.chat_id).isascii()
        smtp = await self._envelope(row.chat_id, utf8)
        if not await self._store.begin_email(row.id, self._now()):
            raise SendFailed(BEGUN_BEFORE, permanent=True)
        try:
            await smtp.data(flatten(message, utf8))
        except SMTPResponseException as refused:
            await self._store.end_email_attempt(row.id)
            raise refusal(refused, self._config) from None
        except (SMTPException, OSError) as lost:
            raise SendFailed(LOST_IN_DATA.format(where=self._config.where, error=lost), permanent=True) from None

    async def _envelope(self, recipient: str, utf8: bool) -> SMTP:
        """A connection whose server has accepted the sender and the recipient, ready for DATA."""
        smtp, reused = await self._connection()
        try:
            try:
                await self._address(smtp, recipient, utf8)
            except (SMTPException, OSError) as error:
                if not (reused and stale(error)):
                    raise
                self._drop()  # the server had closed the idle connection: one more try on a fresh one
                smtp, _ = await self._connection()
                await self._address(smtp, recipient, utf8)
        except SMTPResponseException as refused:
            raise refusal(refused, self._config) from None
        except (SMTPException, OSError) as error:
            raise lost_before_data(error, self._config) from None
        return smtp

    async def _address(self, smtp: SMTP, recipient: str, utf8: bool) -> None:
        if utf8 and not smtp.supports_extension("smtputf8"):
            reason = f"{self._config.where} cannot take an address with letters outside ASCII (no SMTPUTF8)"
            raise SendFailed(reason, permanent=True)
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(self._config.sender_address, options=["SMTPUTF8"] if utf8 else [], encoding=encoding)
        await smtp.rcpt(recipient, encoding=encoding)

    async def _connection(self) -> tuple[SMTP, bool]:
        """The open connection (True: reused), or a new one."""
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp, True
        self._drop()
        config = self._config
        smtp = SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.implicit_tls,
            start_tls=False if config.implicit_tls else (True if config.require_starttls else None),
            timeout=config.timeout,
        )
        try:
            await smtp.connect()
        except (SMTPException, OSError) as error:
            raise connect_failure(error, config) from None
        self._smtp = smtp
        return smtp, False

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()
