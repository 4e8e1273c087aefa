"""How every aiohttp server the bot runs listens (the CRM API and metrics, the Telegram webhook, Slack's HTTP mode):
an idle connection is closed once it has not sent a whole request head in time, and connections past a cap are
refused, so clients that connect and send nothing cannot hold the server's file descriptors for ever."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.program.settings import Settings


@dataclass(frozen=True)
class Limits:
    # aiohttp's keep-alive timer starts when a connection opens and again after each response, and closes the
    # connection if no complete request head has arrived by then: a header-read timeout for new and kept-alive
    # connections alike (aiohttp's own default is an hour).
    header_timeout: float = 15.0
    max_connections: int = 1000  # open connections at once, per server

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.http_header_timeout_seconds, settings.http_max_connections)


DEFAULT_LIMITS = Limits()  # frozen, so one shared default is safe


class _Refused(asyncio.Protocol):
    """A connection past the cap: reset at once, before aiohttp spends anything on it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]  # a socket transport; BaseTransport does not declare it


class _CappedSite(web.BaseSite):
    """A TCP site whose protocol factory refuses connections past the cap. The count is aiohttp's own list of open
    connections, which a connection joins when its first callback runs: connections the kernel hands over in one
    burst may pass the cap by that burst, and the header timeout closes them if they are idle."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, cap: int) -> None:
        super().__init__(runner)
        self._host, self._port, self._cap = host, port, cap
        self.port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # set up by the runner before any site exists

        def protocol() -> asyncio.BaseProtocol:
            return _Refused() if len(server.connections) >= self._cap else server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, self._host, self._port, backlog=self._backlog)
        self.port = self._server.sockets[0].getsockname()[1]


async def serve(app: web.Application, host: str, port: int, limits: Limits) -> tuple[web.AppRunner, int]:
    """Start serving `app`; returns the runner to clean up and the port (port 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.header_timeout)
    await runner.setup()
    site = _CappedSite(runner, host, port, limits.max_connections)
    await site.start()
    return runner, site.port
