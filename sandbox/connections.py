"""Which connection a request came over, so tests can see whether a client keeps its connections open; and a
server going away for a while and coming back on the same port, as a platform does in an outage."""

from __future__ import annotations

from aiohttp import web

CUT_AFTER = 1.0  # seconds a request in progress (a long poll, a websocket) may take to end before it is cut


def client_port(request: web.Request) -> int | None:
    """The client's port: one per TCP connection, so requests that share it came over one kept-alive connection."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return int(peer[1]) if peer else None


async def stop_listening(runner: web.AppRunner) -> None:
    """Unreachable: the port refuses connections and the open ones are cut. The application and what it holds stay,
    for `listen_again`."""
    for site in list(runner.sites):
        await site.stop()
    if runner.server is not None:
        await runner.server.shutdown(CUT_AFTER)


async def listen_again(runner: web.AppRunner, port: int) -> None:
    """Serve on the port used before: a client configured with its URL reaches the same server again."""
    await web.TCPSite(runner, "127.0.0.1", port).start()
