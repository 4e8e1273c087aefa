"""Telegram webhook mode: our own aiohttp route, guarded by the secret token Telegram sends back.

The route answers 200 only after the update's effect is committed; on failure it answers 500 and
Telegram delivers the update again (the inbound-id check makes that safe).
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
MAX_UPDATE_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookServer:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        url: str,
        secret: str,
        host: str,
        port: int,
        failed: set[int],
    ) -> None:
        self._app = app
        self._url = url
        self._secret = secret.encode()
        self._host, self._port = host, port
        self._failed = failed  # update ids whose handler failed, filled by the channel's error handler
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=MAX_UPDATE_BYTES)
        server.router.add_post(urlparse(self._url).path or "/", self._receive)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = self._runner.addresses[0][1]
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
        try:
            update = Update.de_json(json.loads(await request.read()), self._app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not an update")
        await self._app.process_update(update)
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return web.Response(status=500, text="not stored; send it again")
        return web.Response(text="ok")
