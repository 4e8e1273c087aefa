"""Logging for `referral-bot`: plain text for a terminal, or one JSON object a line (LOG_FORMAT=json)
for a log collector that parses fields rather than guessing them from text."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core.errors import DatabaseUnavailable
from bot.program.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, message, and exception (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """Another formatter's finished line with every secret as ***. It sits on the handler, so it sees the message
    after its arguments are filled in and the traceback too, from any logger: ours, PTB's (the token is part of
    every Bot API URL), httpx's, aiohttp's, slack_sdk's or asyncpg's."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        # Longest first, so a secret that contains another is hidden whole.
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self._inner.format(record))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class SaidOnce(logging.Filter):
    """Leaves out lines about a DatabaseUnavailable, below DEBUG: the store says once when the database goes away
    and once when it is back, and a line (with a traceback) for every update, send and sweep it refused meanwhile
    would bury both. Said with the error attached or as an argument, by any logger, ours or a library's."""

    def filter(self, record: logging.LogRecord) -> bool:
        carried: list[object] = [record.exc_info[1] if record.exc_info else None]
        carried += record.args if isinstance(record.args, tuple) else []
        if not any(isinstance(item, DatabaseUnavailable) for item in carried):
            return True
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def secrets_of(settings: Settings) -> list[str]:
    """Every configured secret, as it may appear in a log line; a JSON line escapes some characters, so both."""
    found = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.crm_api_token,
        settings.webhook_secret,
        *_database_passwords(settings.database_url),
    ]
    return [variant for secret in found if secret for variant in {secret, json.dumps(secret)[1:-1]}]


def _database_passwords(url: str) -> list[str]:
    """The password of a database URL, in the address or as ?password=, as written and decoded."""
    parts = urlsplit(url)
    written = [parts.netloc.rpartition("@")[0].partition(":")[2]]  # user:password@host, by hand: ports may be bad
    written += parse_qs(parts.query).get("password", [])
    return [variant for password in written if password for variant in (password, unquote(password))]


def configure(level: str, style: str = "text", secrets: Iterable[str] = ()) -> None:
    """Send the root logger to stderr in the chosen style, every secret hidden (once: a root logger with handlers
    is left as it is)."""
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if style == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(RedactingFormatter(inner, secrets))
    handler.addFilter(SaidOnce())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Bot API call drowns everything else
