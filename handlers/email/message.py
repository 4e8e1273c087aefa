"""An e-mail outbox row as the message a mail client shows: plain text and HTML alternatives in UTF-8, and the
headers that let a mailbox provider trust it and its reader leave the list in one click (RFC 8058)."""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from bot.core.models import OutboxRow
from handlers.email.config import SmtpConfig

# Bodies are encoded to 7 bits (quoted-printable or base64, whichever is shorter), so any server takes them without
# 8BITMIME. Headers given raw (List-Unsubscribe) are kept as they are: refolding would wrap a long URL in
# RFC 2047 encoded words, which no mail client reads as a link.
POLICY = email.policy.SMTP.clone(cte_type="7bit", refold_source="none")


def message_id(row: OutboxRow, config: SmtpConfig) -> str:
    """The same for every try of a row, so a receiving server can tell a repeat."""
    return f"<{row.id}@{config.domain}>"


def compose(row: OutboxRow, config: SmtpConfig, at: datetime) -> EmailMessage:
    """Raises ValueError for a row no server could take (a part missing, a line break in a header)."""
    subject, text, html = (_text(row.payload, part) for part in ("subject", "text", "html"))
    message = EmailMessage(policy=POLICY)
    message["From"] = config.sender
    message["To"] = row.chat_id
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id(row, config)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # After the body: setting it clears every Content-* header.
    if locale := row.payload.get("locale"):
        message["Content-Language"] = str(locale)
    if unsubscribe := row.payload.get("unsubscribe_url"):
        message.set_raw("List-Unsubscribe", f"<{_safe_url(str(unsubscribe))}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def flatten(message: EmailMessage, utf8: bool) -> bytes:
    """The bytes of DATA; `utf8` when an address needs SMTPUTF8, which only then may appear unencoded."""
    return message.as_bytes(policy=POLICY.clone(utf8=utf8))


def _text(payload: dict[str, Any], part: str) -> str:
    value = payload.get(part)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the e-mail has no {part}")
    return value


def _safe_url(url: str) -> str:
    # A raw header is written as it is: nothing in it may end the header or the angle brackets.
    if not url.isascii() or not url.isprintable() or any(c in url for c in " <>"):
        raise ValueError("the unsubscribe link is not a plain URL")
    return url
