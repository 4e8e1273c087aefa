"""SMTP's answers as the outbox's retry decisions. Every reason names the server by `SmtpConfig.where`, which never
holds the password.

- The server cannot be reached (refused, timed out, gone before a reply, a greeting that refuses us, 421 "closing"):
  unreachable, so the dispatcher holds all mail back and probes, and no message spends an attempt.
- 4xx to the sender, the recipient or the message: tried again later with the outbox's backoff.
- 5xx to the sender, the recipient or the message: a dead letter.
- A refused login, or a server that lacks what SMTP_URL asks for (STARTTLS, login): unreachable too. Nothing is
  wrong with the mail; it waits until the operator corrects SMTP_URL, instead of every queued mail dying.
"""

from __future__ import annotations

from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from bot.delivery.outbox import SendFailed
from handlers.email.config import SmtpConfig

BEGUN_BEFORE = (
    "the SMTP exchange began before and its outcome is unknown (the bot stopped mid-send);"
    " not sent again so nobody gets it twice"
)
LOST_IN_DATA = (
    "the connection to {where} was lost while it took the message, so whether it was accepted is unknown"
    " ({error}); not sent again so nobody gets it twice"
)
RECIPIENT_REFUSED = "refused the recipient"  # in a dead letter's reason: the address does not take mail
CLOSING = 421  # the server is shutting the connection: nothing about this message


def connect_failure(error: Exception, config: SmtpConfig) -> SendFailed:
    """Connecting failed: the greeting, EHLO, STARTTLS or the login."""
    where = config.where
    if isinstance(error, SMTPAuthenticationError):
        reason = f"{where} refused the login ({error.code} {error.message}); check the user and password in SMTP_URL"
        return SendFailed(reason, unreachable=True)
    if isinstance(error, SMTPResponseException):
        return SendFailed(f"{where} refused the connection: {error.code} {error.message}", unreachable=True)
    if isinstance(error, SMTPConnectError | SMTPTimeoutError | SMTPServerDisconnected | OSError):
        return SendFailed(f"cannot reach the SMTP server {where}: {error}", unreachable=True)
    # What remains is a server that lacks what SMTP_URL asks of it: STARTTLS, or a login.
    return SendFailed(f"{where} does not work with SMTP_URL as set: {error}", unreachable=True)


def refusal(error: SMTPResponseException, config: SmtpConfig) -> SendFailed:
    """The server answered the sender, the recipient or the message with an error: it took nothing."""
    if isinstance(error, SMTPSenderRefused):
        what = f"the sender {error.sender}"
    elif isinstance(error, SMTPRecipientRefused):
        what = f"the recipient {error.recipient}"  # RECIPIENT_REFUSED
    else:
        what = "the message"
    reason = f"{config.where} refused {what}: {error.code} {error.message}"
    if error.code == CLOSING:
        return SendFailed(reason, unreachable=True)
    if error.code < 500:
        return SendFailed(reason)
    return SendFailed(reason, permanent=True)


def lost_before_data(error: SMTPException | OSError, config: SmtpConfig) -> SendFailed:
    """The connection failed before the message was sent: it surely did not arrive."""
    return SendFailed(f"cannot reach the SMTP server {config.where}: {error}", unreachable=True)


def stale(error: Exception) -> bool:
    """What an idle connection the server has since closed answers to the next command."""
    if isinstance(error, SMTPResponseException):
        return error.code == CLOSING
    return isinstance(error, SMTPServerDisconnected)
