"""For the e-mail tests: a real SMTP server (aiosmtpd) on 127.0.0.1, and the mailbox behind it that keeps what it
accepted as its recipients' mail clients parse it, or says no as a real server would."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Delivered:
    """A message the server accepted, as its recipient's mail client parses it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """The SMTP server's handler. `refuse` answers RCPT for an address with an error; `data_replies` answer the
    next DATA commands before anything is accepted; `on_data` runs as a message arrives, before the 250."""

    delivered: list[Delivered] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    on_data: Callable[[Delivered], None] | None = None
    per_connection: int = 0  # more mails on one connection are answered 421, as some providers do
    _mails: Counter[int] = field(default_factory=Counter)

    async def handle_MAIL(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._mails[id(session)] += 1
        if self.per_connection and self._mails[id(session)] > self.per_connection:
            return "421 4.7.0 Too many messages on this connection, open another"
        envelope.mail_from, envelope.mail_options = address, list(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        parsed = email.message_from_bytes(bytes(envelope.original_content or b""), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        arrived = Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), parsed)
        self.delivered.append(arrived)
        if self.on_data is not None:
            self.on_data(arrived)
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [d.message for d in self.delivered if address in d.rcpt_tos]


def text_of(mail: EmailMessage) -> str:
    """The plain-text part, as a mail client that shows text shows it."""
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def refuse_password(
    server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: LoginPassword
) -> AuthResult:
    return AuthResult(success=False, handled=False)


@asynccontextmanager
async def smtp_server(mailbox: Mailbox, port: int, **options: Any) -> AsyncIterator[Controller]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="mail.test", **options)
    await asyncio.to_thread(controller.start)
    try:
        yield controller
    finally:
        await asyncio.to_thread(controller.stop)
