"""One aiohttp server for the engine's own endpoints (the CRM API, metrics, health). The wiring adds
routes before the engine starts; the server listens for as long as the engine runs."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from handlers.http.listen import DEFAULT_LIMITS, Limits, serve

log = logging.getLogger(__name__)


class HttpServer:
    """Engine part and async context manager; port 0 picks a free port, read back from `.port`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8081, limits: Limits = DEFAULT_LIMITS) -> None:
        self._host, self._port, self._limits = host, port, limits
        self._routes: list[web.RouteDef] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        """Mount routes; only before the server starts, as aiohttp freezes its router then."""
        if self._runner is not None:
            raise RuntimeError("routes must be added before the HTTP server starts")
        self._routes.extend(routes)

    async def __aenter__(self) -> HttpServer:
        app = web.Application()
        app.add_routes(self._routes)
        self._runner, self.port = await serve(app, self._host, self._port, self._limits)
        log.info("HTTP endpoints at http://%s:%s", self._host, self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def run(self) -> None:
        await asyncio.Event().wait()  # the site serves on its own; this keeps the part alive
