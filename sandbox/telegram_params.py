"""How the Bot API reads a method's parameters: from the query string and a JSON, form or multipart body."""

import json
from typing import Any

from aiohttp import web

from sandbox.telegram_entities import JSONDict
from sandbox.telegram_files import Uploaded

# PTB form-encodes every parameter, JSON-encoding all but strings; Telegram then reads each by its declared type.
# Decoding every form value as JSON does the same, except for free text that merely looks like JSON ("42", "true").
_FREE_TEXT = frozenset(
    {
        "text",
        "caption",
        "url",
        "photo",
        "document",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "secret_token",
    }
)


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _FREE_TEXT:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as parse_mode=HTML


async def read_params(request: web.Request) -> JSONDict:
    """Query string, then a JSON, form-encoded or multipart body: the Bot API accepts all of them."""
    raw: JSONDict = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        raw |= body if isinstance(body, dict) else {}
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            raw[key] = Uploaded.named(value.file.read(), value.filename) if isinstance(value, web.FileField) else value
    return {key: _coerce(key, value) for key, value in raw.items()}
