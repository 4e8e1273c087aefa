"""The CRM API: a CRM marks referrals converted, lists them and reads their trail over HTTP with a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from handlers.http.server import HttpServer
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, Operator, eventually, settings_for, slack_settings
from helpers import LINK, current, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

TOKEN = "crm-secret-token-1234"


@dataclass
class Crm:
    """The CRM's side of the API: what it sends and what it reads back."""

    session: aiohttp.ClientSession
    base: str
    token: str | None = TOKEN

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = "", **headers: str
    ) -> tuple[int, Any]:
        token = self.token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, str | bytes) else None
        json_body = None if data is not None or body is None else body
        async with self.session.request(
            method, self.base + path, json=json_body, data=data, headers=headers
        ) as response:
            return response.status, await response.json()

    async def convert(self, referral_id: str, body: Any, **headers: str) -> tuple[int, Any]:
        return await self.call("POST", f"/api/referrals/{referral_id}/convert", body, **headers)


@pytest.fixture
async def crm_bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    """The whole bot, Telegram and Slack, with the CRM API on."""
    settings = settings_for(telegram, operator.database, **slack_settings(slack), crm_api_token=TOKEN)
    async with await build_engine(settings, program, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        yield running


@pytest.fixture
async def crm(crm_bot: Engine) -> AsyncIterator[Crm]:
    async with aiohttp.ClientSession() as session:
        yield Crm(session, f"http://127.0.0.1:{crm_bot.part(HttpServer).port}")


async def refer(
    telegram: TelegramEmulator, slack: SlackEmulator, friend_id: int, name: str, alerts: int
) -> SlackMessage:
    """Ana brings a friend (she starts the bot with the first); returns the friend's alert, the `alerts`-th."""
    if alerts == 1:
        await start(telegram, 1001, "Ana")
    code = LINK.search((await telegram.wait_for_messages(1001, 1))[0].text).group(1)  # type: ignore[union-attr]
    await telegram.open_deep_link(telegram.user(friend_id, name), code)
    return (await slack.wait_for_messages(ALERTS, alerts))[alerts - 1]


async def claimed_referral(
    telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> tuple[str, SlackMessage]:
    alert = await refer(telegram, slack, 2001, "Ben", 1)
    await slack.click(RITA, alert, "referral_claim")
    await eventually(lambda: operator.rows("SELECT status FROM referrals") == [{"status": "claimed"}])
    return operator.rows("SELECT id FROM referrals")[0]["id"], alert


async def test_the_api_refuses_a_missing_or_wrong_token(crm: Crm) -> None:
    for token in (None, "wrong-token", TOKEN + "x", ""):
        status, body = await crm.call("GET", "/api/referrals", token=token if token != "" else " ")
        assert status == 401
        assert body == {"error": "missing or wrong bearer token (Authorization: Bearer <CRM_API_TOKEN>)"}
    assert await crm.call("GET", "/api/referrals") == (200, {"referrals": [], "next_cursor": None})


async def test_the_api_is_off_without_a_token(team: Engine) -> None:
    async with aiohttp.ClientSession() as session:
        api = Crm(session, f"http://127.0.0.1:{team.part(HttpServer).port}")
        assert await api.call("GET", "/api/referrals") == (404, {"error": "not found"})
        assert await api.convert("abc", {"deal_value": "1"}) == (404, {"error": "not found"})


async def test_converting_from_the_crm_updates_the_alert_and_thanks_both_sides(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    referral_id, alert = await claimed_referral(telegram, slack, operator)
    status, body = await crm.convert(referral_id, {"deal_value": "1200.50", "actor": "hubspot"})
    assert status == 200
    assert (body["referral"]["status"], body["referral"]["deal_value"]) == ("converted", "1200.50")
    converted = "Converted* · deal value 1,200.50 EUR"
    await slack.wait_for(lambda: converted in current(slack, alert).plain(), what="converted")
    audits = await slack.wait_for_messages(ALERTS, 2, thread_ts=alert.ts)
    assert audits[1].text.startswith(":tada: hubspot (CRM) marked it converted (deal value 1,200.50 EUR)")
    ana_thanks = (await telegram.wait_for_messages(1001, 3))[2]
    assert ana_thanks.text.startswith("🎉 Great news, Ana! Ben has become a customer of Acme Coffee")
    ben_thanks = (await telegram.wait_for_messages(2001, 2))[1]
    assert "Your welcome gift: 15% off your first three deliveries" in ben_thanks.text
    assert operator.rows("SELECT DISTINCT status FROM rewards") == [{"status": "issued"}]


async def test_an_unclaimed_or_unknown_referral_is_refused_with_the_reason(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await refer(telegram, slack, 2001, "Ben", 1)
    referral_id = operator.rows("SELECT id FROM referrals")[0]["id"]
    status, body = await crm.convert(referral_id, {"deal_value": "10"})
    assert (status, body["error"], body["referral"]["status"]) == (409, "Claim this referral first.", "new")
    assert await crm.convert("no-such-id", {"deal_value": "10"}) == (404, {"error": "no referral with this id"})
    assert await crm.call("GET", "/api/referrals/no-such-id") == (404, {"error": "no referral with this id"})
    assert operator.rows("SELECT status, deal_value FROM referrals") == [{"status": "new", "deal_value": None}]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"deal_value": "lots"}, "deal_value", "Input should be a valid decimal"),
        ({"deal_value": "-5"}, "deal_value", "Input should be greater than or equal to 0"),
        ({"deal_value": "1.005"}, "deal_value", "Decimal input should have no more than 2 decimal places"),
        ({}, "deal_value", "Field required"),
        ({"deal_value": "1", "actor": "not ok!"}, "actor", "String should match pattern"),
        ({"deal_value": "1", "amount": 1}, "amount", "Extra inputs are not permitted"),
        ("{not json", "body", "not valid JSON"),
        ([1, 2], "body", "Input should be a valid dictionary or instance of ConvertBody"),
    ],
)
async def test_a_bad_body_gets_a_400_naming_the_field_and_changes_nothing(
    crm: Crm,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    body: Any,
    field: str,
    message: str,
) -> None:
    referral_id, _ = await claimed_referral(telegram, slack, operator)
    status, answer = await crm.convert(referral_id, body)
    assert (status, answer["field"]) == (400, field)
    assert answer["error"].startswith(f"{field}: {message}")
    assert operator.rows("SELECT status, deal_value FROM referrals") == [{"status": "claimed", "deal_value": None}]


async def test_a_retried_request_with_its_idempotency_key_converts_once(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    referral_id, alert = await claimed_referral(telegram, slack, operator)
    first = await crm.convert(referral_id, {"deal_value": "99"}, **{"Idempotency-Key": "deal-42"})
    again = await crm.convert(referral_id, {"deal_value": "99"}, **{"Idempotency-Key": "deal-42"})
    assert first[0] == again[0] == 200
    assert first[1]["referral"] == again[1]["referral"]
    status, other = await crm.convert(referral_id, {"deal_value": "99"})  # a new request, not a retry
    assert (status, other["error"]) == (409, "This referral is already closed (converted).")
    await telegram.wait_for_messages(1001, 3)
    audits = await slack.wait_for_messages(ALERTS, 2, thread_ts=alert.ts)
    thanks = [m for m in telegram.messages(1001) if m.text.startswith("🎉 Great news")]
    assert len(audits) == 2 and len(thanks) == 1  # one audit line, one thank-you
    assert operator.count("events WHERE kind = 'referral.status' AND actor = 'crm:crm'") == 1


async def test_listing_filters_by_status_and_period_and_pages(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, clock: FakeClock
) -> None:
    start_day = clock.now().date()
    for count, (friend, name) in enumerate(((2001, "Ben"), (2002, "Cal"), (2003, "Dee")), start=1):
        await refer(telegram, slack, friend, name, count)
        clock.advance(timedelta(days=1))
    names = await page_names(crm, "/api/referrals?limit=1")
    assert names == ["Ben", "Cal", "Dee"]
    _, new_ones = await crm.call("GET", "/api/referrals?status=new&limit=2")
    assert [r["friend_name"] for r in new_ones["referrals"]] == ["Ben", "Cal"] and new_ones["next_cursor"]
    day_two = start_day + timedelta(days=1)
    _, period = await crm.call("GET", f"/api/referrals?since={day_two}&until={day_two + timedelta(days=1)}")
    assert [r["friend_name"] for r in period["referrals"]] == ["Cal"] and period["next_cursor"] is None
    _, claimed = await crm.call("GET", "/api/referrals?status=claimed")
    assert claimed["referrals"] == []


async def page_names(crm: Crm, path: str) -> list[str]:
    names: list[str] = []
    cursor = ""
    while True:
        status, page = await crm.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        names += [r["friend_name"] for r in page["referrals"]]
        if page["next_cursor"] is None:
            return names
        cursor = page["next_cursor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=won", "status"), ("since=yesterday", "since"), ("limit=0", "limit"), ("cursor=zzz", "cursor")],
)
async def test_bad_list_parameters_get_a_400_naming_the_field(crm: Crm, query: str, field: str) -> None:
    status, body = await crm.call("GET", f"/api/referrals?{query}")
    assert (status, body["field"]) == (400, field)
    assert body["error"].startswith(f"{field}: ")


async def test_one_referral_comes_with_its_trail_in_order(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, clock: FakeClock
) -> None:
    referral_id, _ = await claimed_referral(telegram, slack, operator)
    clock.advance(timedelta(minutes=30))
    await crm.convert(referral_id, {"deal_value": "250", "actor": "pipedrive"})
    status, body = await crm.call("GET", f"/api/referrals/{referral_id}")
    assert status == 200
    assert (body["referral"]["friend_name"], body["referral"]["status"]) == ("Ben", "converted")
    steps = [(e["kind"], e["actor"], e["data"].get("status")) for e in body["trail"]]
    assert steps == [
        ("referral.created", "tg:2001", None),
        ("referral.status", f"slack:{RITA}", "claimed"),
        ("referral.status", "crm:pipedrive", "converted"),
    ]
    assert body["trail"][2]["data"]["deal_value"] == "250"
    assert sorted((r["role"], r["status"]) for r in body["rewards"]) == [("friend", "issued"), ("referrer", "issued")]


REUSED = (
    "Idempotency-Key: keys for idempotent requests can only be used with the same parameters they were first used "
    "with; this key was first sent for another referral or customer, or with another body. Send a new key for a new "
    "request."
)


async def names(crm: Crm, **window: str) -> list[str]:
    query = "&".join(f"{name}={quote(moment)}" for name, moment in window.items())
    status, page = await crm.call("GET", f"/api/referrals?{query}")
    assert status == 200, page
    return [r["friend_name"] for r in page["referrals"]]


async def test_a_sync_in_the_crms_own_zone_sees_each_referral_once(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    await refer(telegram, slack, 2001, "Ben", 1)  # 09:00 UTC
    clock.advance(timedelta(hours=3))
    await refer(telegram, slack, 2002, "Cal", 2)  # 12:00 UTC
    # 12:00 in Athens and 05:00 in New York are both 10:00 UTC, between the two arrivals.
    for boundary in ("2026-01-05T12:00:00+02:00", "2026-01-05T05:00:00-05:00", "2026-01-05T10:00:00Z"):
        assert await names(crm, until=boundary) == ["Ben"]
        assert await names(crm, since=boundary) == ["Cal"]
    # Exactly Cal's arrival (12:00 UTC), inclusive, up to a second after it, exclusive.
    assert await names(crm, since="2026-01-05T17:00:00+05:00", until="2026-01-05T14:00:01+02:00") == ["Cal"]


async def test_a_time_without_an_offset_gets_a_400_naming_the_parameter(crm: Crm) -> None:
    example = "2026-01-05T10:00:00Z or 2026-01-05T12:00:00+02:00"
    for name in ("since", "until"):
        answer = await crm.call("GET", f"/api/referrals?{name}=2026-01-05T10:00:00")
        assert answer == (400, {"error": f"{name}: give the time's UTC offset, as in {example}", "field": name})
    assert await names(crm, since="2026-01-05", until="2026-01-06") == []  # a date alone is midnight UTC


async def test_an_idempotency_key_reused_with_other_parameters_gets_a_422(
    crm: Crm, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    ben, _ = await claimed_referral(telegram, slack, operator)
    cal_alert = await refer(telegram, slack, 2002, "Cal", 2)
    await slack.click(RITA, cal_alert, "referral_claim")
    await eventually(lambda: operator.count("referrals WHERE status = 'claimed'") == 2)
    cal = operator.rows("SELECT id FROM referrals WHERE id <> ?", ben)[0]["id"]
    key = {"Idempotency-Key": "deal-77"}
    first = await crm.convert(ben, {"deal_value": "99"}, **key)
    assert (first[0], first[1]["referral"]["deal_value"]) == (200, "99")
    assert await crm.convert(ben, {"deal_value": "150"}, **key) == (422, {"error": REUSED, "field": "Idempotency-Key"})
    assert await crm.convert(cal, {"deal_value": "99"}, **key) == (422, {"error": REUSED, "field": "Idempotency-Key"})
    assert await crm.convert("no-such-id", {"deal_value": "99"}, **key) == (404, {"error": "no referral with this id"})
    assert await crm.convert(ben, {"actor": "crm", "deal_value": "99"}, **key) == first  # the same request again
    assert operator.rows("SELECT friend_name, status, deal_value FROM referrals ORDER BY friend_name") == [
        {"friend_name": "Ben", "status": "converted", "deal_value": "99"},
        {"friend_name": "Cal", "status": "claimed", "deal_value": None},
    ]
