"""E-mail as an outbound platform: the outbox's SMTP sender."""

from handlers.email.config import SmtpConfig
from handlers.email.sender import EmailSender

__all__ = ["EmailSender", "SmtpConfig"]
