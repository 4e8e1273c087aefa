"""Which connection a request came over, so tests can see whether a client keeps its connections open."""

from __future__ import annotations

from aiohttp import web


def client_port(request: web.Request) -> int | None:
    """The client's port: one per TCP connection, so requests that share it came over one kept-alive connection."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return int(peer[1]) if peer else None
