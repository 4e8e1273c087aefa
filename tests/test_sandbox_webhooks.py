"""Telegram's webhook delivery and a round-robin load balancer, the sandbox for running several instances.

The emulator POSTs each update to the webhook until it is answered 2xx; the balancer spreads requests over
instances and skips one that is down. A plain aiohttp receiver stands in for a second instance where SQLite
allows only one engine per database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.program.rules import Program
from handlers.slack.channel import SlackChannel
from handlers.telegram.channel import TelegramChannel
from sandbox.load_balancer import LoadBalancer
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_webhook import SECRET_HEADER

from conftest import ALERTS, RITA, Operator, eventually, settings_for
from helpers import call_scripts, current, refer_ben, start, told_privately

SECRET = "s3cret-token-for-the-webhook"
SITE = "https://bot.example.com"
URL = f"{SITE}/telegram/hook"


@dataclass(frozen=True)
class Received:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A plain HTTP server standing in for another instance: it records each request and answers `status`."""

    def __init__(self, status: int = 200, body: str = "ok") -> None:
        self.status, self.body = status, body
        self.got: list[Received] = []
        self.gate: asyncio.Event | None = None  # when set, each request waits for it before it is answered
        self.in_flight = self.peak = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.kill()

    async def kill(self) -> None:
        """The instance goes away: its port refuses connections from now on."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def updates(self) -> list[int]:
        return [json.loads(request.body)["update_id"] for request in self.got]

    async def _receive(self, request: web.Request) -> web.Response:
        self.got.append(Received(request.method, request.path_qs, dict(request.headers), await request.read()))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            return web.Response(status=self.status, text=self.body, headers={"X-Served-By": self.url})
        finally:
            self.in_flight -= 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as running:
        yield running


@pytest.fixture
async def fast(telegram: TelegramEmulator) -> TelegramEmulator:
    telegram.webhook.retry_delay = 0.05  # a failed delivery is tried again soon, so tests wait little
    telegram.user(1001, "Ana")
    return telegram


@pytest.fixture
async def bot(fast: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(fast.token, base_url=fast.base_url) as client:
        yield client


# --- The emulator delivers updates like Telegram ----------------------------------------------------


async def test_each_update_is_posted_to_the_webhook_with_the_secret_token(
    fast: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    fast.route_webhook(URL, f"{receiver.url}/telegram/hook")
    assert await bot.set_webhook(URL, secret_token=SECRET)
    update_id = await fast.send_command(fast.user(1001, "Ana"), "start")
    await fast.webhook.wait_until_delivered()
    (got,) = receiver.got
    assert (got.method, got.path_qs, got.headers[SECRET_HEADER]) == ("POST", "/telegram/hook", SECRET)
    assert got.headers["Content-Type"] == "application/json" and json.loads(got.body) == fast.update(update_id)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections, info.last_error_message) == (URL, 0, 40, None)
    assert (fast.pending_updates(), fast.confirmed_offset) == (0, update_id + 1)
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()


async def test_an_update_is_posted_again_in_order_until_the_webhook_answers_2xx(
    fast: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    fast.route_webhook(SITE, receiver.url)
    receiver.status = 500
    await bot.set_webhook(URL, secret_token=SECRET, max_connections=1)
    first = await fast.send_command(fast.user(1001, "Ana"), "start")
    second = await fast.send_text(fast.user(1001, "Ana"), "hello")
    await eventually(lambda: len(receiver.got) >= 3)
    info = await bot.get_webhook_info()
    assert (info.pending_update_count, info.max_connections) == (2, 1)
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None and fast.confirmed_offset == first
    receiver.status = 204  # any 2xx confirms
    await fast.webhook.wait_until_delivered()
    tries = receiver.updates()
    assert set(tries[:-2]) == {first} and tries[-2:] == [first, second]
    assert [(a.update_id, a.status) for a in fast.webhook.attempts if a.status == 204] == [(first, 204), (second, 204)]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_no_more_than_max_connections_updates_are_in_flight(
    fast: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    fast.route_webhook(SITE, receiver.url)
    receiver.gate = asyncio.Event()
    await bot.set_webhook(URL, secret_token=SECRET, max_connections=3)
    sent = [await fast.send_text(fast.user(1001, "Ana"), f"message {n}") for n in range(7)]
    await eventually(lambda: receiver.in_flight == 3)
    await asyncio.sleep(0.2)
    assert receiver.updates() == sent[:3] and fast.pending_updates() == 7  # in flight is not confirmed
    receiver.gate.set()
    await fast.webhook.wait_until_delivered()
    assert sorted(receiver.updates()) == sent and receiver.peak == 3


async def test_a_webhook_that_cannot_be_reached_is_tried_again_until_it_can(
    fast: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(URL, secret_token=SECRET)
    update_id = await fast.send_command(fast.user(1001, "Ana"), "start")
    await eventually(lambda: len(fast.webhook.attempts) >= 1)
    unresolved = (await bot.get_webhook_info()).last_error_message
    assert unresolved == "Failed to resolve host: Name or service not known"
    url = receiver.url
    await receiver.kill()
    fast.route_webhook(SITE, url)
    await eventually(lambda: fast.webhook.attempts[-1].error == "Connection refused")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    async with Receiver() as revived:
        fast.route_webhook(SITE, revived.url)
        await fast.webhook.wait_until_delivered()
    assert revived.updates() == [update_id] and fast.webhook.attempts[-1].status == 200


async def test_delete_webhook_stops_delivery_and_get_updates_has_what_was_not_confirmed(
    fast: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    fast.route_webhook(SITE, receiver.url)
    receiver.status = 502
    await bot.set_webhook(URL, secret_token=SECRET)
    update_id = await fast.send_command(fast.user(1001, "Ana"), "start")
    await eventually(lambda: len(receiver.got) >= 1)
    assert await bot.delete_webhook()
    tried = len(receiver.got)
    await asyncio.sleep(0.2)
    assert len(receiver.got) == tried and (await bot.get_webhook_info()).url == ""
    (update,) = await bot.get_updates(timeout=0)
    assert update.update_id == update_id and update.message is not None and update.message.text == "/start"


async def test_set_webhook_refuses_what_telegram_refuses(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided for webhook"):
        await bot.set_webhook("http://bot.example.com/telegram/hook")
    with pytest.raises(BadRequest, match=r"(?i)only on ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://bot.example.com:8080/telegram/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook(URL, secret_token="not allowed!")
    assert (await bot.get_webhook_info()).url == ""


# --- The load balancer -------------------------------------------------------------------------------


async def test_the_balancer_takes_turns_and_passes_requests_and_answers_through_unchanged() -> None:
    async with Receiver(201, "from a") as a, Receiver(403, "from b") as b, LoadBalancer([a.url, b.url]) as lb:
        headers = {"X-Slack-Signature": "v0=abc", "X-Slack-Request-Timestamp": "1700000000", "X-Slack-Retry-Num": "1"}
        answers = []
        async with aiohttp.ClientSession() as http:
            for n in range(4):
                url = f"{lb.url}/slack/events?n={n}&q=a%20b"
                async with http.post(url, data=f"payload={n}".encode(), headers=headers) as reply:
                    answers.append((reply.status, await reply.text(), reply.headers["X-Served-By"]))
        assert answers == [(201, "from a", a.url), (403, "from b", b.url)] * 2
        assert [r.path_qs for r in a.got] == ["/slack/events?n=0&q=a%20b", "/slack/events?n=2&q=a%20b"]
        assert [r.body for r in b.got] == [b"payload=1", b"payload=3"]
        for request in a.got + b.got:
            assert request.method == "POST" and headers.items() <= request.headers.items()
            assert request.headers["X-Forwarded-For"] == "127.0.0.1"
        assert lb.counts == {a.url: 2, b.url: 2}


async def status_of(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as reply:
        return reply.status


async def test_a_backend_that_is_down_is_skipped_and_with_none_up_the_answer_is_502() -> None:
    async with Receiver() as a, Receiver() as b, LoadBalancer([a.url, b.url]) as lb:
        await b.kill()
        async with aiohttp.ClientSession() as http:
            statuses = [await status_of(http, f"{lb.url}/health") for _ in range(3)]
            assert statuses == [200, 200, 200] and lb.counts == {a.url: 3}
            await a.kill()
            assert await status_of(http, f"{lb.url}/health") == 502
            lb.remove(a.url)
            async with Receiver() as c:
                lb.add(c.url)
                assert await status_of(http, f"{lb.url}/health") == 200
        assert lb.backends == (b.url, c.url) and [f.status for f in lb.forwarded] == [200, 200, 200, 502, 200]
        assert lb.forwarded[3].backend is None and lb.counts == {a.url: 3, c.url: 1}


# --- The bot behind the balancer -----------------------------------------------------------------------


@asynccontextmanager
async def bot_on_webhook(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator, **overrides: Any
) -> AsyncIterator[str]:
    """The real engine in webhook mode; yields the base URL its webhook server listens on."""
    settings = settings_for(
        telegram, operator.database, telegram_webhook_url=URL, telegram_webhook_secret=SECRET,
        telegram_webhook_host="127.0.0.1", telegram_webhook_port=0, **overrides,
    )  # fmt: skip
    async with await build_engine(settings, program, clock) as engine:
        webhook = engine.part(TelegramChannel).webhook
        assert webhook is not None
        await eventually(lambda: webhook.port is not None)
        yield f"http://127.0.0.1:{webhook.port}"


@pytest.fixture
async def balancer(fast: TelegramEmulator) -> AsyncIterator[LoadBalancer]:
    """Telegram reaches bot.example.com through the balancer, which has no instances yet."""
    async with LoadBalancer() as lb:
        fast.route_webhook(SITE, lb.url)
        yield lb


async def test_an_arrival_delivered_by_telegram_through_the_balancer_is_stored_once(
    fast: TelegramEmulator, balancer: LoadBalancer, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot_on_webhook(fast, program, clock, operator) as instance:
        balancer.add(instance)
        code, _ = await start(fast, 1001, "Ana")
        await fast.open_deep_link(fast.user(2001, "Ben"), code)
        (welcome,) = await fast.wait_for_messages(2001, 1)
        assert "Welcome to Acme Coffee, Ben! Ana invited you." in welcome.text
        await fast.webhook.wait_until_delivered()
    assert [(r["referrer_id"], r["friend_telegram_id"]) for r in operator.rows("SELECT * FROM referrals")] == [
        (1001, 2001)
    ]
    assert operator.count("processed_inbound") == 2 and balancer.counts == {instance: 2}
    assert [(attempt.url, attempt.status) for attempt in fast.webhook.attempts] == [
        (balancer.url + "/telegram/hook", 200)
    ] * 2


async def test_an_update_the_instance_could_not_store_is_delivered_again_and_stored_once(
    fast: TelegramEmulator, balancer: LoadBalancer, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with bot_on_webhook(fast, program, clock, operator, sqlite_busy_timeout_ms=300) as instance:
        balancer.add(instance)
        code, _ = await start(fast, 1001, "Ana")
        blocker = sqlite3.connect(operator.path, isolation_level=None)  # a backup holds the write lock a while
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            arrival = await fast.open_deep_link(fast.user(2001, "Ben"), code)
            await eventually(lambda: any(a.update_id == arrival and a.status == 500 for a in fast.webhook.attempts))
            info = fast.webhook.info()
            assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
            assert info["pending_update_count"] == 1 and fast.messages(2001) == []
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await fast.webhook.wait_until_delivered(timeout=15)
        await fast.wait_for_messages(2001, 1)
        await asyncio.sleep(0.3)
    assert len(fast.messages(2001)) == 1 and operator.count("referrals") == 1
    assert operator.rows("SELECT id FROM processed_inbound WHERE id = ?", f"tg:{arrival}") == [{"id": f"tg:{arrival}"}]


async def test_two_backends_take_turns_a_failing_one_is_retried_on_the_other_and_a_killed_one_skipped(
    fast: TelegramEmulator, balancer: LoadBalancer, program: Program, clock: FakeClock, operator: Operator,
    receiver: Receiver,
) -> None:  # fmt: skip
    receiver.status = 503  # another instance that cannot reach the database
    async with bot_on_webhook(fast, program, clock, operator) as instance:
        balancer.add(receiver.url)
        balancer.add(instance)
        code, _ = await start(fast, 1001, "Ana")
        ben = await fast.open_deep_link(fast.user(2001, "Ben"), code)
        await fast.wait_for_messages(2001, 1)
        await fast.webhook.wait_until_delivered()
        assert balancer.counts == {receiver.url: 2, instance: 2}
        assert [request.headers[SECRET_HEADER] for request in receiver.got] == [SECRET, SECRET]
        assert receiver.updates()[-1] == ben and json.loads(receiver.got[-1].body) == fast.update(ben)
        await receiver.kill()
        failed = len([attempt for attempt in fast.webhook.attempts if attempt.error])
        await fast.open_deep_link(fast.user(2002, "Cara"), code)
        await fast.wait_for_messages(2002, 1)
        await fast.webhook.wait_until_delivered()
    assert len([attempt for attempt in fast.webhook.attempts if attempt.error]) == failed  # skipped, not failed
    assert balancer.counts == {receiver.url: 2, instance: 3}
    assert sorted(r["friend_telegram_id"] for r in operator.rows("SELECT * FROM referrals")) == [2001, 2002]
    assert len(fast.messages(2001)) == 1 and len(fast.messages(2002)) == 1


async def test_slack_requests_and_their_retries_reach_the_team_through_the_balancer(
    team: Any, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, receiver: Receiver
) -> None:
    receiver.status = 500  # an instance that fails the request it got
    async with LoadBalancer([receiver.url, f"http://127.0.0.1:{team.part(SlackChannel).port}"]) as lb:
        slack.bot_endpoint = f"{lb.url}/slack/events"
        alert = await refer_ben(telegram, slack)
        assert (await slack.click(RITA, alert, "referral_claim")).status == 500
        (failed,) = receiver.got
        assert failed.path_qs == "/slack/events" and failed.headers["X-Slack-Signature"].startswith("v0=")
        assert (await slack.resend_last(retry_num=1)).status == 200  # Slack's retry reaches the other instance
        await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        await receiver.kill()
        assert (await slack.resend_last(retry_num=2)).status == 200
        await slack.wait_for(lambda: current(slack, alert).edits == 1, what="the claim shown on the alert")
    await slack.wait_for(lambda: len(call_scripts(slack, RITA)) == 1, what="Rita's call script")
    assert len(slack.thread(ALERTS, alert.ts)) == 1 and told_privately(slack, RITA) == []
    assert operator.rows("SELECT status, assignee FROM referrals") == [{"status": "claimed", "assignee": RITA}]
    assert operator.count("events WHERE kind = 'referral.status'") == 1
