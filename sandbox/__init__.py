"""Local emulators of the chat platforms' HTTP APIs, for tests, the demo and benchmarks."""

from sandbox.slack_api import SlackEmulator as SlackEmulator
from sandbox.telegram_api import RecordedRequest, TelegramEmulator
from sandbox.telegram_entities import ApiError
from sandbox.telegram_people import FakeUser, SentMessage

__all__ = ["ApiError", "FakeUser", "RecordedRequest", "SentMessage", "TelegramEmulator"]
