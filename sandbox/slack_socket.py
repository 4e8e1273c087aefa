"""Socket Mode as Slack runs it: one-time websocket URLs, a hello on connect, envelopes out and acks back."""

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Callable

from aiohttp import WSMsgType, web

from sandbox.slack_models import JSONDict, PersonResponse

ACK_TIMEOUT = 3.0  # seconds Slack waits for an ack before it shows the person an error


class SocketHub:
    """The app's Socket Mode connections; envelopes go round-robin across them, as Slack spreads its load."""

    def __init__(self, app_id: str, on_change: Callable[[], None]) -> None:
        self.app_id = app_id
        self.closing = False
        self.clients: list[web.WebSocketResponse] = []
        self._on_change = on_change
        self._tickets: set[str] = set()
        self._acks: dict[str, asyncio.Future[tuple[str, JSONDict]]] = {}
        self._turn = 0

    def issue_ticket(self) -> str:
        ticket = secrets.token_urlsafe(24)
        self._tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.match_info["ticket"]
        if self.closing:
            return web.Response(status=503, text="the emulator is shutting down")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or used ticket; call apps.connections.open again")
        self._tickets.discard(ticket)  # each URL from apps.connections.open connects once
        socket = web.WebSocketResponse(autoping=True)  # answers the SDK's pings, which it uses to detect stale links
        await socket.prepare(request)
        self.clients.append(socket)
        try:
            await socket.send_json(self._hello())
            self._on_change()
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        finally:
            self.clients.remove(socket)
            self._on_change()
        return socket

    def _hello(self) -> JSONDict:
        debug_info = {"host": "applink-sandbox", "build_number": 1, "approximate_connection_time": 18060}
        return {
            "type": "hello", "num_connections": len(self.clients), "debug_info": debug_info,
            "connection_info": {"app_id": self.app_id},
        }  # fmt: skip

    def _on_text(self, data: str) -> None:
        with contextlib.suppress(ValueError):
            ack = json.loads(data)
            waiting = self._acks.get(str(ack.get("envelope_id"))) if isinstance(ack, dict) else None
            if waiting is not None and not waiting.done():
                waiting.set_result((data, ack))

    async def deliver(
        self,
        kind: str,
        payload: JSONDict,
        *,
        timeout: float = ACK_TIMEOUT,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> PersonResponse:
        """Sends one envelope and waits for its ack; none within the ack timeout is a 504, as Slack shows it."""
        assert self.clients, "no Socket Mode client is connected; start the bot's handler and await wait_for_socket()"
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }  # fmt: skip
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        self._turn += 1
        started = time.monotonic()
        try:
            await self.clients[self._turn % len(self.clients)].send_json(envelope)
            raw, ack = await asyncio.wait_for(self._acks[envelope_id], timeout)
        except TimeoutError:
            return PersonResponse(504, "", None, time.monotonic() - started)
        finally:
            del self._acks[envelope_id]
        answer = ack.get("payload")
        return PersonResponse(200, raw, answer if isinstance(answer, dict) else None, time.monotonic() - started)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack asks clients to reconnect now and then; the SDK then opens a new connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sandbox"}}
        for socket in list(self.clients):
            await socket.send_json(message)

    async def close(self) -> None:
        self.closing = True  # the SDK reconnects when closed; refuse it while the server shuts down
        for socket in list(self.clients):
            await socket.close(code=1001, message=b"server shutting down")
