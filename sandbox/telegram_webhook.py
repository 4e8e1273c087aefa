"""Telegram's side of a webhook: every update is POSTed to the bot's HTTPS URL until the bot answers 2xx.

The emulator has neither DNS nor TLS, so a test says where a public URL is really served (`route`), the loopback
stand-in for DNS and the TLS-terminating proxy in front of the bot. An unrouted host fails to resolve, as it would.
"""

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from sandbox.telegram_entities import JSONDict, bad_request
from sandbox.telegram_people import UpdateQueue

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_PORTS = (80, 88, 443, 8443)  # the only ports Telegram calls
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_IDLE = 1.0  # seconds between rechecks when nothing wakes the sender

Wait = Callable[[Callable[[], bool], float], Awaitable[bool]]


@dataclass(frozen=True)
class WebhookAttempt:
    update_id: int
    url: str  # where the POST really went, after routing ("" when the host did not resolve)
    status: int | None  # the bot's HTTP status; None when no answer came
    error: str | None  # what getWebhookInfo's last_error_message says of it; None for a 2xx
    at: float  # time.monotonic() when the answer (or the failure) came


def _within(url: str, public: str) -> bool:
    return url == public or url.startswith(public if public.endswith("/") else public + "/")


class WebhookSender:
    """setWebhook, deleteWebhook and getWebhookInfo, and the delivery they start and stop.

    Oldest update first, up to max_connections in flight. A failed delivery pauses new ones for `retry_delay`
    seconds, after which the oldest unconfirmed update goes first again: Telegram backs off the whole webhook."""

    def __init__(
        self, updates: UpdateQueue, notify: Callable[[], None], wait_until: Wait, clock: Callable[[], float],
        retry_delay: float = 0.5,
    ) -> None:  # fmt: skip
        self.retry_delay = retry_delay
        self.timeout = 30.0  # how long Telegram waits for the bot's answer
        self.url = ""
        self.attempts: list[WebhookAttempt] = []
        self._updates, self._notify, self._wait_until, self._clock = updates, notify, wait_until, clock
        self._secret = ""
        self._max_connections = 40
        self._routes: dict[str, str] = {}
        self._queue: dict[int, JSONDict] = {}  # taken from the update queue, not yet answered 2xx
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._paused_until = 0.0
        self._last_error: tuple[int, str] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def route(self, public_url: str, local_url: str) -> None:
        """Requests for public_url (and below it) go to local_url, e.g. a loopback http:// server or balancer."""
        assert public_url.startswith("https://"), "Telegram only calls https:// URLs"
        assert urlsplit(local_url).scheme in ("http", "https"), f"{local_url!r} is not an http(s) URL"
        self._routes[public_url] = local_url
        self._notify()

    @property
    def pending(self) -> int:
        """getWebhookInfo's pending_update_count: updates not yet confirmed, including those in flight."""
        return len(self._updates) + len(self._queue)

    @property
    def oldest_unconfirmed(self) -> int | None:
        return min(self._queue, default=None)

    async def wait_until_delivered(self, timeout: float = 5.0) -> None:
        """Until every update so far was answered 2xx by the webhook."""
        if not await self._wait_until(lambda: self.pending == 0, timeout):
            error = self._last_error[1] if self._last_error else "no error"
            raise AssertionError(f"{self.pending} updates still pending after {timeout}s; last error: {error}")

    async def configure(self, params: JSONDict) -> bool:
        """setWebhook, and deleteWebhook, which is setWebhook without a url."""
        url, secret = str(params.get("url") or ""), str(params.get("secret_token") or "")
        if url:
            self._check(url, secret)
        if params.get("drop_pending_updates"):
            self._updates.confirm(max(self._updates.history, default=0) + 1)
            self._queue.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._updates.allowed = frozenset(params["allowed_updates"])
        self.url, self._secret = url, secret
        self._max_connections = min(max(int(params.get("max_connections") or 40), 1), 100)
        if url and self._runner is None:
            self._runner = asyncio.create_task(self._run())
        elif not url:
            await self.stop()
        self._notify()
        return True

    def info(self) -> JSONDict:
        info: JSONDict = {"url": self.url, "has_custom_certificate": False, "pending_update_count": self.pending}
        if self.url:
            info["max_connections"] = self._max_connections
        if self._updates.allowed:
            info["allowed_updates"] = sorted(self._updates.allowed)
        if self._last_error:
            info |= {"last_error_date": self._last_error[0], "last_error_message": self._last_error[1]}
        return info

    async def stop(self) -> None:
        """Delivery stops; what the bot did not confirm goes back to the queue getUpdates reads."""
        tasks = [task for task in (self._runner, *self._in_flight.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner, self._in_flight = None, {}
        for update_id in sorted(self._queue):
            self._updates.replay(update_id)
        self._queue.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def _check(url: str, secret: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in _PORTS:
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        if secret and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")

    def _ready(self) -> bool:
        if len(self._in_flight) >= self._max_connections or time.monotonic() < self._paused_until:
            return False
        return self._updates.has_deliverable() or len(self._queue) > len(self._in_flight)

    async def _run(self) -> None:
        self._session = aiohttp.ClientSession()
        while True:
            pause = self._paused_until - time.monotonic()
            if await self._wait_until(self._ready, pause if pause > 0 else _IDLE):
                self._send_oldest()

    def _send_oldest(self) -> None:
        taken = self._updates.take(100)
        if taken:  # from now on these are the webhook's to deliver, so getUpdates' queue lets them go
            self._queue |= {update["update_id"]: update for update in taken}
            self._updates.confirm(taken[-1]["update_id"] + 1)
        waiting = [update_id for update_id in self._queue if update_id not in self._in_flight]
        if waiting:
            update_id = min(waiting)
            self._in_flight[update_id] = asyncio.create_task(self._deliver(update_id, self._queue[update_id]))

    async def _deliver(self, update_id: int, update: JSONDict) -> None:
        target = next((local + self.url[len(public) :] for public, local in self._routes.items()
                       if _within(self.url, public)), "")  # fmt: skip
        status, error = await self._post(target, update)
        self.attempts.append(WebhookAttempt(update_id, target, status, error, time.monotonic()))
        del self._in_flight[update_id]
        if error is None:
            self._queue.pop(update_id, None)
        else:
            self._last_error = (int(self._clock()), error)
            self._paused_until = time.monotonic() + self.retry_delay
        self._notify()

    async def _post(self, target: str, update: JSONDict) -> tuple[int | None, str | None]:
        if not target:
            return None, "Failed to resolve host: Name or service not known"
        assert self._session is not None
        headers = {"Content-Type": "application/json"} | ({SECRET_HEADER: self._secret} if self._secret else {})
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with self._session.post(
                target, data=json.dumps(update).encode(), headers=headers, timeout=timeout, allow_redirects=False
            ) as reply:
                await reply.read()
        except aiohttp.ClientConnectorError:
            return None, "Connection refused"
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientError:
            return None, "Connection reset by peer"
        if 200 <= reply.status < 300:
            return reply.status, None
        return reply.status, f"Wrong response from the webhook: {reply.status} {reply.reason}"
