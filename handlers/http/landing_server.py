"""The landing page's own server: public, behind the operator's TLS proxy, and apart from the engine's endpoints
(metrics, CRM API), which stay private on HTTP_HOST:HTTP_PORT."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from handlers.http.landing import LandingSite
from handlers.http.listen import DEFAULT_LIMITS, Limits, serve

log = logging.getLogger(__name__)


class LandingServer:
    """Engine part and async context manager; port 0 picks a free port, read back from `.port`."""

    def __init__(
        self, site: LandingSite, host: str = "127.0.0.1", port: int = 8080, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self._site, self._host, self._port, self._limits = site, host, port, limits
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def __aenter__(self) -> LandingServer:
        # client_max_size makes aiohttp refuse a bigger body with 413 before reading it all.
        app = web.Application(middlewares=[self._site.middleware], client_max_size=self._site.max_body)
        app.add_routes(self._site.routes())
        self._runner, self.port = await serve(app, self._host, self._port, self._limits)
        log.info("landing page at http://%s:%s/r/<code>", self._host, self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def run(self) -> None:
        await asyncio.Event().wait()  # the site serves on its own; this keeps the part alive
