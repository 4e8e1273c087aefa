"""A round-robin HTTP load balancer on 127.0.0.1, standing in front of several bot instances in tests.

Each request goes to the next backend in turn as it came (method, path, query, headers, body), and the backend's
answer comes back the same way. A backend that refuses the connection is skipped for that request, as a balancer's
health check would take it out. One that fails after it accepted the request gets a 502 (504 on a timeout) and no
second try: a balancer cannot know whether the POST it started was acted on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

# Headers about one connection, not the request: a proxy drops them and sets its own (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip


@dataclass(frozen=True)
class Forwarded:
    backend: str | None  # None: no backend took the request
    method: str
    path_qs: str
    status: int  # what the client was answered


def _end_to_end(headers: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    return CIMultiDict((name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP)


class LoadBalancer:
    """`async with LoadBalancer([url1, url2]) as lb:` serves at `lb.url`; backends are base URLs such as
    http://127.0.0.1:8081, and a request for lb.url + "/slack/events?x=1" goes to backend + "/slack/events?x=1"."""

    def __init__(self, backends: Iterable[str] = (), *, timeout: float = 60.0) -> None:
        self.timeout = timeout  # how long a backend may take to answer, like a balancer's idle timeout
        self.forwarded: list[Forwarded] = []
        self._backends = [backend.rstrip("/") for backend in backends]
        self._turn = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0

    async def __aenter__(self) -> Self:
        # A new connection per request: a killed backend then refuses it, instead of failing a pooled one mid-request.
        connector = aiohttp.TCPConnector(force_close=True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def url(self) -> str:
        assert self._runner is not None, "the balancer is not running; use `async with LoadBalancer(...) as lb`"
        return f"http://127.0.0.1:{self._port}"

    @property
    def counts(self) -> Counter[str]:
        """Requests each backend took, whether it answered them or not."""
        return Counter(forwarded.backend for forwarded in self.forwarded if forwarded.backend is not None)

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(self._backends)

    def add(self, backend: str) -> None:
        self._backends.append(backend.rstrip("/"))

    def remove(self, backend: str) -> None:
        self._backends.remove(backend.rstrip("/"))

    def _in_turn(self) -> list[str]:
        """Every backend, starting with the next in the rotation; the rotation moves on by one per request."""
        backends, start = list(self._backends), self._turn
        self._turn += 1
        if not backends:
            return []
        start %= len(backends)
        return backends[start:] + backends[:start]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = _end_to_end(request.headers.items())
        headers["X-Forwarded-For"] = ", ".join(filter(None, [request.headers.get("X-Forwarded-For"), request.remote]))
        headers["X-Forwarded-Host"] = request.host
        for backend in self._in_turn():
            try:
                return await self._relay(backend, request, headers, body)
            except aiohttp.ClientConnectorError:
                continue  # not listening (killed, not started yet): the next one takes it
            except TimeoutError:
                return self._answer(backend, request, 504, "the backend did not answer in time")
            except aiohttp.ClientError:
                return self._answer(backend, request, 502, "the backend closed the connection")
        return self._answer(None, request, 502, "no backend is up")

    async def _relay(
        self, backend: str, request: web.Request, headers: CIMultiDict[str], body: bytes
    ) -> web.StreamResponse:
        assert self._session is not None
        target = URL(backend + request.raw_path, encoded=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with self._session.request(
            request.method, target, data=body, headers=headers, allow_redirects=False, timeout=timeout
        ) as reply:
            payload = await reply.read()
        self.forwarded.append(Forwarded(backend, request.method, request.raw_path, reply.status))
        relayed = _end_to_end(reply.headers.items())
        return web.Response(status=reply.status, reason=reply.reason, body=payload, headers=relayed)

    def _answer(self, backend: str | None, request: web.Request, status: int, text: str) -> web.Response:
        self.forwarded.append(Forwarded(backend, request.method, request.raw_path, status))
        return web.Response(status=status, text=text)
