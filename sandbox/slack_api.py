"""A local Slack Web API server that the real slack-sdk and bolt clients talk to, with the people who use the app.

`async with SlackEmulator() as emu:` serves the Web API at `emu.api_url` on 127.0.0.1, plus the upload URLs,
response_urls and Socket Mode websockets the API hands out. See slack_people for acting as people."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from aiohttp import web

from sandbox.connections import client_port, listen_again, stop_listening
from sandbox.slack_models import ApiCall, JSONDict, SlackError
from sandbox.slack_people import SlackPeople
from sandbox.slack_presence import SlackPresence

_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# The OAuth scope a method needs, as Slack checks it. An app installed without one gets `missing_scope`.
SCOPE_NEEDED = {
    "users.info": "users:read",
    "users.getPresence": "users:read",
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
}
DEFAULT_SCOPES = frozenset({"chat:write", "commands", "users:read", "im:write", "files:write", "channels:history"})


@dataclass(frozen=True)
class _Window:
    until: float  # time.monotonic()
    retry_after: int
    methods: frozenset[str] | None


def _ratelimited(retry_after: int) -> SlackError:
    return SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})


async def _read_params(request: web.Request) -> JSONDict:
    """Query string, then a JSON, form-encoded or multipart body: the Web API accepts all of them."""
    params: JSONDict = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params |= body if isinstance(body, dict) else {}
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            params[key] = value.file.read() if isinstance(value, web.FileField) else value
    return params


class SlackEmulator(SlackPeople, SlackPresence):
    def __init__(
        self, bot_token: str = "xoxb-test", app_token: str = "xapp-test", signing_secret: str = "test-secret",
        team_id: str = "T0001", bot_user_id: str = "UBOT", *, bot_id: str = "B0001", app_id: str = "A0001",
    ) -> None:  # fmt: skip
        super().__init__(team_id, bot_user_id, bot_id, app_id, signing_secret)
        self.bot_token, self.app_token = bot_token, app_token
        self.calls: list[ApiCall] = []
        self.scopes: set[str] = set(DEFAULT_SCOPES)  # the bot token's scopes: take one away to see the bot without it
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._failures: dict[str, list[SlackError]] = {}
        self._windows: list[_Window] = []
        self._channel_rate: tuple[float, int] | None = None
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens left, when counted)
        self._methods: dict[str, Callable[[JSONDict], JSONDict]] = {
            "auth.test": self._auth_test, "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update, "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral, "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open, "users.info": self._users_info,
            "users.getPresence": self._users_get_presence,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open, "views.push": self._views_push, "views.update": self._views_update,
            "views.publish": self._views_publish, "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }  # fmt: skip

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=100 * 2**20)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{token}", self._handle_response)
        app.router.add_get("/socket-mode/{ticket}", self.sockets.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.sockets.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def go_down(self) -> None:
        """An outage: the Web API and Socket Mode refuse connections (open ones are cut) until `come_back()`."""
        assert self._runner is not None
        await self.sockets.close()
        await stop_listening(self._runner)

    async def come_back(self) -> None:
        assert self._runner is not None
        self.sockets.closing = False
        await listen_again(self._runner, self._port)

    @property
    def api_url(self) -> str:
        return self._url("/api/")

    def _url(self, path: str) -> str:
        assert self._runner is not None, "the emulator is not running; use `async with SlackEmulator() as emu`"
        return f"http://127.0.0.1:{self._port}{path}"

    def limit_channel_rate(self, per_second: float = 1.0, burst: int = 1) -> None:
        """From now on chat.postMessage to one channel faster than this answers 429, like Slack's per-channel limit."""
        self._channel_rate, self._buckets = (per_second, burst), {}

    def fail_with_429(self, retry_after: int, for_seconds: float, methods: set[str] | None = None) -> None:
        """A window in which matching calls (all when methods is None) answer 429 with Retry-After."""
        self._windows.append(_Window(time.monotonic() + for_seconds, retry_after, frozenset(methods or ()) or None))

    def fail_next(self, method: str, error: str, status: int = 200, times: int = 1, *, retry_after: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        self._failures.setdefault(method, []).extend(
            SlackError(error, status=status, headers=headers) for _ in range(times)
        )

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        await self.sockets.disconnect(reason)

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived, method, params = time.monotonic(), request.match_info["method"], {}
        headers: dict[str, str] = {}
        body: JSONDict
        try:
            params = await _read_params(request)
            if method not in self._methods:
                raise SlackError("unknown_method")
            self._authorize(method, request, params)
            self._check_scope(method)
            self._inject_failure(method, params)
            status, body = 200, {"ok": True} | self._methods[method](params)
        except SlackError as error:
            status, body, headers = error.status, error.payload(), error.headers
        except Exception as error:  # an emulator bug must show up in the test, not as a hang
            status, body = 500, {"ok": False, "error": "internal_error", "detail": repr(error)}
        error_code = str(body.get("error") or "") or None
        self.calls.append(ApiCall(method, params, arrived, status, bool(body["ok"]), error_code, client_port(request)))
        return web.json_response(body, status=status, headers=headers)

    def _authorize(self, method: str, request: web.Request, params: JSONDict) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token if scheme.lower() == "bearer" else str(params.pop("token", ""))
        params.pop("token", None)
        wanted, other = (
            (self.app_token, self.bot_token) if method in _APP_TOKEN_METHODS else (self.bot_token, self.app_token)
        )
        if not token:
            raise SlackError("not_authed")
        if token == other:
            raise SlackError("not_allowed_token_type")
        if token != wanted:
            raise SlackError("invalid_auth")

    def _check_scope(self, method: str) -> None:
        needed = SCOPE_NEEDED.get(method)
        if needed is not None and needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            raise SlackError("missing_scope", extra={"needed": needed, "provided": provided})

    def _inject_failure(self, method: str, params: JSONDict) -> None:
        queued = self._failures.get(method)
        if queued:
            raise queued.pop(0)
        now = time.monotonic()
        for window in self._windows:
            if now < window.until and (window.methods is None or method in window.methods):
                raise _ratelimited(window.retry_after)
        if method == "chat.postMessage" and self._channel_rate is not None:
            self._take_channel_token(self._channel_id(str(params.get("channel", ""))), now)

    def _take_channel_token(self, channel: str, now: float) -> None:
        """A token bucket per channel: `burst` posts at once, then `per_second` on average."""
        assert self._channel_rate is not None
        rate, burst = self._channel_rate
        tokens, counted = self._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - counted) * rate)
        if tokens < 1:
            raise _ratelimited(max(1, math.ceil((1 - tokens) / rate)))
        self._buckets[channel] = (tokens - 1, now)

    def _auth_test(self, params: JSONDict) -> JSONDict:
        return {
            "url": f"https://{self.team_domain}.slack.com/", "team": self.team_domain, "user": "referralbot",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _apps_connections_open(self, params: JSONDict) -> JSONDict:
        return {"url": self._url(f"/socket-mode/{self.sockets.issue_ticket()}").replace("http://", "ws://", 1)}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """files.slack.com takes the raw bytes or a multipart `file` field, and answers in plain text."""
        if request.content_type == "multipart/form-data":
            field: Any = (await request.post()).get("file")
            content = field.file.read() if isinstance(field, web.FileField) else str(field or "").encode()
        else:
            content = await request.read()
        if not self.receive_upload(request.match_info["file_id"], content):
            return web.Response(status=404, text="file_not_found")
        return web.Response(text=f"OK - {len(content)}")

    async def _handle_response(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            body = None
        status, text = (
            self.apply_response(request.match_info["token"], body)
            if isinstance(body, dict)
            else (400, "invalid_payload")
        )
        self.calls.append(
            ApiCall("response_url", body or {}, arrived, status, status == 200, None if status == 200 else text)
        )
        return web.Response(status=status, text=text)
