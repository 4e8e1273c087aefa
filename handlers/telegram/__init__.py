"""The Telegram adapter, on python-telegram-bot."""

from handlers.telegram.channel import TelegramChannel, build_application
from handlers.telegram.sender import TelegramSender

__all__ = ["TelegramChannel", "TelegramSender", "build_application"]
