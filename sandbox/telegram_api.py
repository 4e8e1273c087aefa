"""A local Telegram Bot API server that the real python-telegram-bot client talks to, errors and all."""

import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Self

from aiohttp import web

from sandbox.connections import client_port, listen_again, stop_listening
from sandbox.telegram_entities import ApiError, JSONDict, bad_request, check_inline_results, check_markup, message_text
from sandbox.telegram_files import FileStore
from sandbox.telegram_limits import ChatRates, OverallRate
from sandbox.telegram_params import read_params
from sandbox.telegram_people import SentMessage, TelegramWorld
from sandbox.telegram_webhook import WEBHOOK_CONFLICT, WebhookSender

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    params: JSONDict
    at: float  # time.monotonic() when the request arrived
    status: int
    description: str | None = None
    connection: int | None = None  # the client's port: requests that share it came over one kept-alive connection


@dataclass(frozen=True)
class _Flood:
    until: float
    retry_after: int
    methods: frozenset[str] | None
    chat_id: int | None


def _looks(message: SentMessage) -> tuple[Any, ...]:  # what Telegram compares to call an edit "not modified"
    return message.text, message.caption, message.entities, (message.reply_markup or {}).get("inline_keyboard") or None


class TelegramEmulator(TelegramWorld):
    """`async with TelegramEmulator() as emu:` serves the Bot API at `emu.base_url` on 127.0.0.1."""

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "AcmeReferralBot",
        bot_name: str = "Acme Referrals", *, long_poll_cap: float = 1.0, clock: Callable[[], float] = time.time,
        webhook_retry_delay: float = 0.5,
    ) -> None:  # fmt: skip
        bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": bot_name, "username": bot_username}
        super().__init__(bot_user | {"can_join_groups": True, "supports_inline_queries": True}, clock)
        self.token = token
        self.long_poll_cap = long_poll_cap  # getUpdates never holds a test longer than this
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = False
        self._floods: list[_Flood] = []
        self._overall: OverallRate | None = None
        self._per_chat: ChatRates | None = None  # off unless asked for: most tests send faster to one chat
        self._failures: dict[str, list[ApiError]] = {}
        self.files = FileStore()  # photos and documents the bot uploaded, by file_id
        self._commands: dict[str, Any] = {}
        self.webhook = WebhookSender(self._updates, self._notify, self._wait_until, clock, webhook_retry_delay)
        self._poll_generation = 0
        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": lambda _: self.bot_user, "getUpdates": self._get_updates, "sendMessage": self._send_message,
            "sendPhoto": lambda params: self._send_file(params, "photo"),
            "sendDocument": lambda params: self._send_file(params, "document"),
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query, "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda params: self._commands.get(self._commands_key(params), []),
            "setWebhook": self.webhook.configure, "deleteWebhook": self.webhook.configure,
            "getWebhookInfo": lambda _: self.webhook.info(),
            "sendChatAction": lambda params: self._chat_for_bot(params.get("chat_id")) and True,
            "close": lambda _: True, "logOut": lambda _: True, "setMyDescription": lambda _: True,
            "setMyShortDescription": lambda _: True, "setChatMenuButton": lambda _: True,
        }  # fmt: skip
        self._method_names = {name.lower(): name for name in self._methods}

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port, self._closing = int(self._runner.addresses[0][1]), False
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._notify()  # long polls return now, so the server stops at once
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def go_down(self) -> None:
        """An outage: the Bot API refuses connections (open ones, long polls too, are cut) until `come_back()`.
        Chats and unconfirmed updates are kept, as Telegram keeps them."""
        assert self._runner is not None
        self._closing = True
        self._notify()  # long polls return now
        await stop_listening(self._runner)

    async def come_back(self) -> None:
        assert self._runner is not None
        self._closing = False
        await listen_again(self._runner, self._port)

    @property
    def base_url(self) -> str:
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        assert self._runner is not None, "the emulator is not running; use `async with TelegramEmulator() as emu`"
        return f"http://127.0.0.1:{self._port}"

    def route_webhook(self, public_url: str, local_url: str) -> None:
        """Where the bot really serves a webhook URL (DNS and TLS termination, on loopback): `public_url` and the
        URLs below it are POSTed to `local_url` and below. Set the delay between retries with webhook.retry_delay."""
        self.webhook.route(public_url, local_url)

    def pending_updates(self) -> int:  # by getUpdates or by webhook, whichever is on
        return self.webhook.pending

    @property
    def confirmed_offset(self) -> int:  # every update below it is confirmed, however it was delivered
        return min(super().confirmed_offset, self.webhook.oldest_unconfirmed or super().confirmed_offset)

    def fail_with_429(
        self, retry_after: int, for_seconds: float, methods: set[str] | None = None, chat_id: int | None = None
    ) -> None:
        """Flood control: matching requests answer 429 with retry_after until for_seconds pass."""
        names = None if methods is None else frozenset(name.lower() for name in methods)
        self._floods.append(_Flood(time.monotonic() + for_seconds, retry_after, names, chat_id))

    def limit_rate(self, per_second: float = 30.0, burst: int = 30) -> None:
        """From now on messages sent faster than this overall (all chats together) answer 429, like Telegram."""
        self._overall = OverallRate(per_second, burst)

    def limit_chat_rate(self, per_second: float = 1.0, burst: int = 3) -> None:
        """From now on messages sent faster than this to one chat answer 429 for that chat, like Telegram."""
        self._per_chat = ChatRates(per_second, burst)

    def fail_next(
        self, method: str, error_code: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        errors = [ApiError(error_code, description, retry_after) for _ in range(times)]
        self._failures.setdefault(method.lower(), []).extend(errors)

    async def _handle(self, request: web.Request) -> web.Response:
        arrived, name = time.monotonic(), request.match_info["method"]
        method, params = self._method_names.get(name.lower(), name), {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in self._methods:
                raise ApiError(404, "Not Found")
            params = await read_params(request)
            self._inject_failure(method, params)
            result = self._methods[method](params)
            status, body = 200, {"ok": True, "result": await result if inspect.isawaitable(result) else result}
        except ApiError as error:
            status, body = error.error_code, error.payload()
        except Exception as error:  # an emulator bug must show up in the test, not as a hang
            status, body = 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {error!r}"}
        description = body.get("description")
        self.requests.append(RecordedRequest(method, params, arrived, status, description, client_port(request)))
        return web.json_response(body, status=status)

    def _inject_failure(self, method: str, params: JSONDict) -> None:
        queued = self._failures.get(method.lower())
        if queued:
            raise queued.pop(0)
        for flood in self._floods:
            method_matches = flood.methods is None or method.lower() in flood.methods
            if time.monotonic() < flood.until and method_matches and flood.chat_id in (None, params.get("chat_id")):
                raise ApiError(429, f"Too Many Requests: retry after {flood.retry_after}", flood.retry_after)
        if self._per_chat is not None:
            self._per_chat.check(method, params.get("chat_id"))
        if self._overall is not None:
            self._overall.take(method)
        if self._per_chat is not None:
            self._per_chat.take(method, params.get("chat_id"))

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # like Telegram, a newer getUpdates ends an older long poll with 409
        self._updates.confirm(int(params.get("offset") or 0))
        if isinstance(params.get("allowed_updates"), list):
            self._updates.allowed = frozenset(params["allowed_updates"])

        def ready() -> bool:
            return self._updates.has_deliverable() or generation != self._poll_generation or self._closing

        await self._wait_until(ready, min(float(params.get("timeout") or 0), self.long_poll_cap))
        if generation != self._poll_generation:
            raise ApiError(409, _POLL_CONFLICT)
        return self._updates.take(min(max(int(params.get("limit") or 100), 1), 100))

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id, raw, parse_mode = (
            self._chat_for_bot(params.get("chat_id")),
            params.get("text"),
            params.get("parse_mode"),
        )
        text, entities = message_text(raw, parse_mode, params.get("entities"))
        return self._deliver(params, SentMessage(0, chat_id, text, str(raw), parse_mode, tuple(entities), None, 0))

    async def _send_file(self, params: JSONDict, kind: str) -> JSONDict:
        chat_id, raw, parse_mode = (
            self._chat_for_bot(params.get("chat_id")),
            params.get("caption"),
            params.get("parse_mode"),
        )
        caption, entities = message_text(raw, parse_mode, params.get("caption_entities"), caption=True)
        stored = self.files.take(params.get(kind), kind)
        media = {"photo": stored.data} if kind == "photo" else {"document": stored.data, "file_name": stored.name}
        draft = SentMessage(
            0, chat_id, "", str(raw or ""), parse_mode, tuple(entities), None, 0, caption=caption or None
        )
        return self._deliver(params, replace(draft, file_id=stored.file_id, **media))

    def _deliver(self, params: JSONDict, draft: SentMessage) -> JSONDict:
        """Checks what every send shares, then stores the message under the chat's next message id."""
        markup = check_markup(params.get("reply_markup"))
        reply: JSONDict = params.get("reply_parameters") or {"message_id": params.get("reply_to_message_id")}
        reply_to = None if reply.get("message_id") is None else int(reply["message_id"])
        draft = replace(draft, reply_markup=markup, date=self._now(), reply_to_message_id=reply_to)
        return self._store(replace(draft, message_id=self._new_message_id(draft.chat_id)))

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text, entities = message_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        old = self._message_to_edit(params)
        if old is None:
            return True
        if old.file_id:
            raise bad_request("there is no text in the message to edit")
        markup = check_markup(params.get("reply_markup"))  # no reply_markup means the keyboard goes away
        new = replace(old, text=text, html=str(params["text"]), parse_mode=params.get("parse_mode"))
        return self._store_edit(old, replace(new, entities=tuple(entities), reply_markup=markup, edited=True))

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        markup = check_markup(params.get("reply_markup"))
        old = self._message_to_edit(params)
        return True if old is None else self._store_edit(old, replace(old, reply_markup=markup, edited=True))

    def _message_to_edit(self, params: JSONDict) -> SentMessage | None:
        if "inline_message_id" in params:
            return None  # messages sent in inline mode are not tracked; Telegram answers True for them
        message = self._find_sent(self._chat_for_bot(params.get("chat_id")), int(params.get("message_id") or 0))
        if message is None:
            raise bad_request("message to edit not found")
        return message

    def _store_edit(self, old: SentMessage, new: SentMessage) -> JSONDict:
        if _looks(old) == _looks(new):
            raise bad_request(_NOT_MODIFIED)
        return self._store(new)

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        return self._answer_query("callback_query", query_id, self.callback_answers, params)

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        results = check_inline_results(params.get("results"))
        self.files.check_results(results)
        query_id = str(params.get("inline_query_id", ""))
        return self._answer_query("inline_query", query_id, self._inline_answers, results)

    @staticmethod
    def _commands_key(params: JSONDict) -> str:  # commands are kept per scope and language, as Telegram does
        return json.dumps([params.get("scope") or {"type": "default"}, params.get("language_code", "")], sort_keys=True)

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(_COMMAND.fullmatch(str(c.get("command"))) for c in commands):
            raise bad_request("BOT_COMMAND_INVALID")
        self._commands[self._commands_key(params)] = commands
        return True
