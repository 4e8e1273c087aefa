"""Telegram webhook mode: our own aiohttp route, guarded by the secret token Telegram sends back.

The route answers 200 only after the update is settled: its effect committed, or the update parked to be
retried (handlers/telegram/intake.py); when even that fails it answers 500 and Telegram delivers the update
again (the inbound-id check makes that safe). A body that can never be an
update gets 400: a 500 would have Telegram retry it for ever.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, TypeGuard
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import Application

from handlers.http.listen import DEFAULT_LIMITS, Limits, serve
from handlers.telegram.intake import Intake

log = logging.getLogger(__name__)
MAX_UPDATE_BYTES = 1_000_000
ID_LIMIT = 2**63  # ids are stored as BIGINT
# Real updates nest a few levels (message, reply_to_message, entities); anything deeper is not from Telegram
# and would only exhaust the stack in the parsing and handling that follow.
MAX_DEPTH = 32
# Fields the handlers read, by name: Telegram gives each name one type in every object that has it.
_TEXT_FIELDS = frozenset(
    {"text", "data", "query", "type", "first_name", "last_name", "username", "language_code", "phone_number"}
)
_WHOLE_FIELDS = frozenset({"message_id", "date", "user_id"})
_PEOPLE = frozenset({"from", "chat", "user", "sender_chat"})  # objects whose "id" is a user or chat id
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookServer:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        intake: Intake,
        url: str,
        secret: str,
        host: str,
        port: int,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._app = app
        self._intake = intake
        self._url = url
        self._secret = secret.encode()
        self._host, self._port, self._limits = host, port, limits
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=MAX_UPDATE_BYTES)
        server.router.add_post(urlparse(self._url).path or "/", self._receive)
        self._runner, self.port = await serve(server, self._host, self._port, self._limits)
        await self._app.bot.set_webhook(
            self._url, secret_token=self._secret.decode(), allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )
        log.info("Telegram webhook on port %s for %s", self.port, self._url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):  # constant time: no guessing the secret byte by byte
            return web.Response(status=403, text="forbidden")
        update = _update_from(await request.read(), self._app.bot)
        if isinstance(update, str):
            log.warning("webhook body refused, it is not a Telegram update: %s", update)
            return web.Response(status=400, text="not an update")
        if not await self._intake.take(update):
            return web.Response(status=500, text="not stored; send it again")
        return web.Response(text="ok")


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity, which Python's json accepts by default


def _is_whole(value: object) -> TypeGuard[int]:
    # bool is an int to Python; a float (7.0, NaN) would never equal the id we record or look up.
    return type(value) is int and -ID_LIMIT < value < ID_LIMIT


def _field_problem(key: object, value: object) -> str | None:
    """What is wrong with one field our handlers read; PTB passes these through unchecked."""
    if key in _TEXT_FIELDS and value is not None and not isinstance(value, str):
        return f"{key} is not text"
    if key in _WHOLE_FIELDS and value is not None and not _is_whole(value):
        return f"{key} is not a whole number"
    if key in _PEOPLE and isinstance(value, dict) and not _is_whole(value.get("id")):
        return f"{key}.id is not a whole number"
    return None


def _shape_problem(data: dict[str, Any]) -> str | None:
    """Nesting deeper than any update, or a field of the wrong type; walked level by level, not
    recursively, so that no body can exhaust the stack."""
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH):
        deeper: list[Any] = []
        for item in level:
            for key, value in item.items() if isinstance(item, dict) else enumerate(item):
                problem = _field_problem(key, value)
                if problem is not None:
                    return problem
                if isinstance(value, (dict, list)):
                    deeper.append(value)
        if not deeper:
            return None
        level = deeper
    return "JSON nested too deeply"


def _update_from(body: bytes, bot: Bot) -> Update | str:
    """The update in a webhook body, or why there can never be one (so a retry is pointless)."""
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        return "JSON nested too deeply"
    except ValueError as error:  # includes bodies that are not UTF-8
        return f"not JSON ({str(error)[:80]})"
    if not isinstance(data, dict):
        return f"JSON {type(data).__name__}, not an object"
    update_id = data.get("update_id")
    if not _is_whole(update_id) or update_id < 0:
        return f"update_id {str(update_id)[:30]!r} is not a whole number"
    problem = _shape_problem(data)
    if problem is not None:
        return f"update {update_id}: {problem}"
    try:
        return Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        return f"update {update_id} has a field of the wrong shape ({type(error).__name__})"
