"""The Telegram adapter, on python-telegram-bot."""

import os

# Opt in to PTB's timedelta durations (the documented path forward): without it PTB warns while
# building a RetryAfter, which breaks 429 handling wherever warnings are errors.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from handlers.telegram.channel import TelegramChannel, build_application
from handlers.telegram.sender import TelegramSender

__all__ = ["TelegramChannel", "TelegramSender", "build_application"]
