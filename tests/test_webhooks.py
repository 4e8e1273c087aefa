"""Outbound webhooks: signed referral events reach a receiver once each, and are sent again after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.core.models import Referral
from bot.integrations.webhooks import referral_data, verify_signature
from bot.program.rules import Program
from bot.program.settings import load_settings
from handlers.http.server import HttpServer
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import RITA, Operator, eventually, settings_for, slack_settings
from helpers import refer_ben

SECRET = "whsec-test-0123456789abcdef"
TOKEN = "crm-secret-token-1234"


@dataclass
class Delivery:
    body: bytes
    signature: str
    event_id: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """A business's endpoint: it checks each signature and keeps the events it accepted."""

    answers: list[int] = field(default_factory=list)  # statuses to answer with first, then 200
    accepted: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        signature = request.headers.get("Referral-Bot-Signature", "")
        if not verify_signature(SECRET, signature, body):
            return web.Response(status=400, text="bad signature")
        if self.answers:
            return web.Response(status=self.answers.pop(0))
        self.accepted.append(Delivery(body, signature, request.headers["Referral-Bot-Event-Id"]))
        return web.Response(status=204)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [d.event for d in self.accepted if d.event["type"] == kind]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hooks.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    yield hooks
    await runner.cleanup()


@pytest.fixture
async def hooked_bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    receiver: Receiver,
) -> AsyncIterator[Engine]:
    settings = settings_for(
        telegram,
        operator.path,
        **slack_settings(slack),
        crm_api_token=TOKEN,
        webhook_urls=receiver.url,
        webhook_secret=SECRET,
    )
    async with await build_engine(settings, program, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        yield running


async def convert(engine: Engine, referral_id: str) -> None:
    url = f"http://127.0.0.1:{engine.part(HttpServer).port}/api/referrals/{referral_id}/convert"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"deal_value": "300"}, headers={"Authorization": f"Bearer {TOKEN}"}) as response,
    ):
        assert response.status == 200


async def test_created_status_changes_and_rewards_arrive_signed_once_each(
    hooked_bot: Engine, receiver: Receiver, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await eventually(lambda: len(receiver.of_type("referral.created")) == 1)
    (created,) = receiver.of_type("referral.created")
    referral_id = created["data"]["referral_id"]
    assert (created["data"]["friend_name"], created["data"]["status"]) == ("Ben", "new")
    await slack.click(RITA, alert, "referral_claim")
    await eventually(lambda: len(receiver.of_type("referral.status_changed")) == 1)
    await convert(hooked_bot, referral_id)
    await eventually(lambda: len(receiver.of_type("reward.issued")) == 2)
    changes = [(e["data"]["previous_status"], e["data"]["status"]) for e in receiver.of_type("referral.status_changed")]
    assert changes == [("new", "claimed"), ("claimed", "converted")]
    assert receiver.of_type("referral.status_changed")[1]["data"]["deal_value"] == "300"
    rewards = sorted((e["data"]["role"], e["data"]["referral_id"]) for e in receiver.of_type("reward.issued"))
    assert rewards == [("friend", referral_id), ("referrer", referral_id)]
    assert all(d.event_id == d.event["id"] for d in receiver.accepted)
    assert len({d.event_id for d in receiver.accepted}) == len(receiver.accepted) == 5
    assert receiver.attempts == 5  # nothing sent twice
    await eventually(lambda: operator.count("outbox WHERE platform = 'webhook' AND status = 'sent'") == 5)
    assert receiver.attempts == 5


async def test_a_receiver_failing_gets_the_same_event_again_after_a_backoff(
    hooked_bot: Engine,
    receiver: Receiver,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    clock: FakeClock,
) -> None:
    receiver.answers = [500, 429]
    await refer_ben(telegram, slack)
    await eventually(lambda: receiver.attempts == 1)
    failed = {"status": "pending", "last_error": f"webhook {receiver.url} answered 500"}
    # The receiver answered before the bot recorded its answer: wait for the row, not just the request.
    await eventually(
        lambda: operator.rows("SELECT status, last_error FROM outbox WHERE platform = 'webhook'") == [failed]
    )
    for expected in (2, 3):
        clock.advance(timedelta(minutes=5))
        await eventually(lambda expected=expected: receiver.attempts == expected)  # type: ignore[misc]
    (created,) = receiver.of_type("referral.created")
    assert created["data"]["friend_name"] == "Ben"
    await eventually(lambda: operator.count("outbox WHERE platform = 'webhook' AND status = 'sent'") == 1)


async def test_a_receiver_refusing_the_request_makes_a_dead_letter(
    hooked_bot: Engine, receiver: Receiver, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    receiver.answers = [410]
    await refer_ben(telegram, slack)
    await eventually(lambda: operator.count("outbox WHERE platform = 'webhook' AND status = 'dead'") == 1)
    assert operator.rows("SELECT last_error FROM outbox WHERE platform = 'webhook'") == [
        {"last_error": f"webhook {receiver.url} answered 410"}
    ]


async def test_a_tampered_body_a_stale_timestamp_or_another_secret_fails_verification(
    hooked_bot: Engine, receiver: Receiver, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    await eventually(lambda: len(receiver.accepted) == 1)
    (delivery,) = receiver.accepted
    assert verify_signature(SECRET, delivery.signature, delivery.body)
    assert not verify_signature(SECRET, delivery.signature, delivery.body.replace(b'"Ben"', b'"Bob"'))
    assert not verify_signature("another-secret-0000", delivery.signature, delivery.body)
    assert not verify_signature(SECRET, "t=abc,v1=00", delivery.body)
    assert not verify_signature(SECRET, "", delivery.body)
    stale = int(time.time()) - 301
    digest = hmac.new(SECRET.encode(), f"{stale}.".encode() + delivery.body, hashlib.sha256).hexdigest()
    assert not verify_signature(SECRET, f"t={stale},v1={digest}", delivery.body)
    assert verify_signature(SECRET, f"t={stale},v1={digest}", delivery.body, tolerance=600)


def test_webhook_urls_need_a_secret_and_must_be_urls() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET: set 16 or more characters"):
        load_settings(_env_file=None, webhook_urls="https://crm.example/hooks")
    with pytest.raises(ConfigError, match=r"setting WEBHOOK_URLS: .*'crm\.example' is not an http"):
        load_settings(_env_file=None, webhook_urls="crm.example", webhook_secret=SECRET)


def test_a_landing_friends_contact_and_consent_reach_the_crm_only_as_given() -> None:
    """A friend who left an address and a number on the landing page: both, and the consent word for word."""
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    landing = replace(UNCONSENTED, source="landing", channel="landing", friend_phone="+34612345678")
    landing = replace(landing, friend_consent_text="I agree that Acme Coffee may contact me.", friend_consent_at=at)
    data = referral_data(landing)
    contact = (data["friend_contact"], data["friend_contact_kind"], data["friend_phone"])
    assert contact == ("bea@example.com", "email", "+34612345678")
    assert data["friend_consent_text"] == "I agree that Acme Coffee may contact me."
    assert data["friend_consent_at"] == "2026-01-05T09:00:00.000000+00:00" and data["source"] == "landing"
    hidden = referral_data(replace(UNCONSENTED, friend_phone="+34612345678"))  # no consent: no contact
    assert hidden["friend_contact"] is hidden["friend_phone"] is hidden["friend_contact_kind"] is None


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
UNCONSENTED = Referral(
    "r1",
    1001,
    "direct",
    "direct",
    "new",
    T0,
    T0,
    friend_name="Bea",
    friend_contact="bea@example.com",
    friend_contact_kind="email",
)
