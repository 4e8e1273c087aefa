"""The Slack side of the engine: a bolt AsyncApp served in our own event loop, over HTTP
(`/slack/events`, signatures checked by bolt) or over a Socket Mode websocket."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import ConfigError, unreachable
from handlers.http.listen import DEFAULT_LIMITS, Limits, serve

log = logging.getLogger(__name__)


def build_slack_app(bot_token: str, api_url: str, signing_secret: str) -> AsyncApp:
    client = AsyncWebClient(token=bot_token, base_url=api_url)
    return AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=bool(signing_secret),  # Socket Mode requests are not signed
    )


class SlackChannel:
    """Async context manager; HTTP mode when there is no app token, else Socket Mode."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str = "",
        host: str = "0.0.0.0",
        port: int = 3000,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.app = app
        self._app_token = app_token
        self._host, self._port, self._limits = host, port, limits
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.port: int | None = None
        self._session: aiohttp.ClientSession | None = None  # ours to close, when we opened it

    async def __aenter__(self) -> SlackChannel:
        # One session for every Web API call: without it slack_sdk opens a new connection (a TCP and TLS
        # handshake with Slack) for each message and closes it again, which cost most of each alert's send.
        client = self.app.client
        if client.session is None:
            timeout = aiohttp.ClientTimeout(total=client.timeout)
            client.session = aiohttp.ClientSession(timeout=timeout, trust_env=client.trust_env_in_session)
            self._session = client.session
        try:
            await self._connect()
        except BaseException:
            await self.__aexit__(None, None, None)  # nothing is left open when start-up fails
            raise
        return self

    async def _connect(self) -> None:
        client = self.app.client
        try:
            await client.auth_test()
        except SlackApiError as error:
            raise ConfigError(f"setting SLACK_BOT_TOKEN: Slack refused the token ({error.response['error']})") from None
        except (aiohttp.ClientConnectionError, TimeoutError) as error:  # no route, no DNS, refused, timed out
            token = client.token or ""
            raise unreachable("the Slack Web API", client.base_url, "SLACK_API_URL", error, token) from None
        if self._app_token:
            self._socket = AsyncSocketModeHandler(self.app, self._app_token, web_client=self.app.client)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack connected in Socket Mode")
        else:
            await self._serve_http()

    async def channel_info(self, channel: str) -> dict[str, Any]:
        """conversations.info's channel, or {"error": code} when Slack refuses (start-up checks read it)."""
        try:
            return dict((await self.app.client.conversations_info(channel=channel))["channel"])
        except SlackApiError as error:
            return {"error": str(error.response.get("error", "unknown_error"))}

    async def _serve_http(self) -> None:
        server = web.Application()
        server.router.add_post("/slack/events", self._handle)
        self._runner, self.port = await serve(server, self._host, self._port, self._limits)
        log.info("Slack events at http://%s:%s/slack/events", self._host, self.port)

    async def _handle(self, request: web.Request) -> web.Response:
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            self.app.client.session = None  # a send after this point opens its own connection again
            await self._session.close()
            self._session = None

    async def run(self) -> None:
        await asyncio.Event().wait()  # the server and the socket run on their own; this keeps the part alive
