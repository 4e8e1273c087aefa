"""The playground's web server: one page, its stylesheet and script, the live feed of what the emulators recorded
(server-sent events), the actions the page takes, and the files the bot sent. It listens on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.app.emulated import Emulated
from bot.app.playground.actions import Actions
from bot.app.playground.cast import JSONDict
from bot.app.playground.slack_side import SlackSide
from bot.app.playground.slack_view import IMAGE_MAGIC, slack_snapshot
from bot.app.playground.telegram_side import TelegramSide
from bot.app.playground.telegram_view import telegram_snapshot
from bot.program.rules import Program
from sandbox.telegram_entities import ApiError

HERE = Path(__file__).parent
HOST = "127.0.0.1"  # the playground acts as anyone on both platforms: never reachable from another machine
POLL = 0.1  # seconds between looks at the emulators for something new to push
KEEP_ALIVE = 15.0  # seconds: a comment line keeps proxies and the browser from closing a quiet feed
STATIC = {"playground.css": "text/css", "playground.js": "text/javascript", "favicon.svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Playground:
    """`async with Playground(world, program) as site:` serves the page at `site.url` until the block ends."""

    def __init__(self, world: Emulated, program: Program, port: int = 0) -> None:
        self.world, self.program, self.port = world, program, port
        self.telegram = TelegramSide(world.telegram)
        self.slack = SlackSide(world.slack)
        self.actions = Actions(self.telegram, self.slack, world.clock)
        self._zone = ZoneInfo(program.business_hours.timezone)
        self._pages = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]))
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/events", self._events)
        app.router.add_post("/action", self._action)
        app.router.add_get("/files/telegram/{kind}/{file_id}", self._telegram_file)
        app.router.add_get("/files/slack/{file_id}", self._slack_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # live feeds end now, so the server stops at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def addresses(self) -> list[str]:
        """The addresses the server listens on (for the check that it is 127.0.0.1 alone)."""
        return [str(address[0]) for address in self._runner.addresses] if self._runner else []

    def snapshot(self) -> JSONDict:
        now = self.world.clock.now().astimezone(self._zone)
        return {
            "clock": f"{now:%a} {now.day} {now:%b %Y, %H:%M} ({self._zone.key})",
            "telegram": telegram_snapshot(self.telegram),
            "slack": slack_snapshot(self.slack),
        }

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Only this page may drive the playground: another site the browser has open cannot post actions to it
        (Origin), and a name that resolves to 127.0.0.1 cannot reach it either (Host)."""
        own = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        if request.host not in own:
            return web.Response(status=421, text="this playground answers only at " + self.url, headers=HEADERS)
        if request.method == "POST" and (
            request.headers.get("Origin", "").removeprefix("http://") not in own
            or request.content_type != "application/json"
        ):
            return web.Response(status=403, text="actions come from the playground's own page", headers=HEADERS)
        try:
            response = await handler(request)
        except web.HTTPException as refused:
            refused.headers.update(HEADERS)
            raise
        if not response.prepared:  # the live feed sent its headers already
            response.headers.update(HEADERS)
        return response

    async def _page(self, request: web.Request) -> web.Response:
        page = self._pages.get_template("page.html").render(
            program=self.program.program.name, bot=self.world.telegram.bot_user, channel="referrals"
        )
        return web.Response(text=page, content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=(HERE / name).read_bytes(), content_type=STATIC[name], charset="utf-8")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """The page's live view: the whole snapshot whenever the emulators recorded something new."""
        feed = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream"})
        await feed.prepare(request)
        sent, quiet = "", 0.0
        with contextlib.suppress(ConnectionError):
            while not self._closing.is_set():
                current = json.dumps(self.snapshot(), ensure_ascii=False, separators=(",", ":"))
                if current != sent:
                    await feed.write(f"data: {current}\n\n".encode())
                    sent, quiet = current, 0.0
                elif quiet >= KEEP_ALIVE:
                    await feed.write(b": still here\n\n")
                    quiet = 0.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), POLL)
                quiet += POLL
        return feed

    async def _action(self, request: web.Request) -> web.Response:
        try:
            action = await request.json()
        except ValueError:
            action = None
        if not isinstance(action, dict):
            return web.json_response({"error": "an action is a JSON object"}, status=400)
        return web.json_response(await self.actions.perform(action))

    async def _telegram_file(self, request: web.Request) -> web.Response:
        kind, file_id = request.match_info["kind"], request.match_info["file_id"]
        if kind not in ("photo", "document"):
            raise web.HTTPNotFound()
        try:
            stored = self.world.telegram.files.take(file_id, kind)
        except ApiError:
            raise web.HTTPNotFound() from None
        return _file_response(stored.data, stored.name or f"{file_id}.bin")

    async def _slack_file(self, request: web.Request) -> web.Response:
        shared = self.slack.file(request.match_info["file_id"])
        if shared is None:
            raise web.HTTPNotFound()
        return _file_response(shared.content, shared.name)


def _file_response(data: bytes, name: str) -> web.Response:
    """An image shown in the page, or any other file as a download (never rendered as a page of ours)."""
    if data.startswith(IMAGE_MAGIC[0]):
        return web.Response(body=data, content_type="image/png")
    if data.startswith(IMAGE_MAGIC[1]):
        return web.Response(body=data, content_type="image/jpeg")
    safe = "".join(c for c in name if c.isalnum() or c in "._-")[:100] or "file"
    disposition = {"Content-Disposition": f'attachment; filename="{safe}"'}
    return web.Response(body=data, content_type="application/octet-stream", headers=disposition)
