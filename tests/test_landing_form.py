"""The landing form against what the open web sends it, over plain HTTP: each bad input is refused with its status
and, where a person could fix it, the field named on the page; nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app.operator_services import operator_services
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.integrations.advocates import AdvocateImport, read_csv
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, Operator, settings_for, team_bot
from helpers import LANDING, on_landing, start
from landing_visitor import Fields, Visitor


@pytest.fixture
async def bot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> AsyncIterator[Engine]:
    limits: dict[str, Any] = {"landing_forms_per_hour": 5, "landing_forms_per_code_per_hour": 8}
    async with team_bot(telegram, slack, program, clock, operator.database, **LANDING, **limits) as running:
        yield running


@pytest.fixture
async def code(telegram: TelegramEmulator, bot: Engine) -> str:
    """Ana's referral code: she started the bot."""
    return (await start(telegram, 1001, "Ana"))[0]


@pytest.fixture
async def visitor(bot: Engine) -> AsyncIterator[Visitor]:
    # Cookies by hand: aiohttp's jar keeps no cookie from an IP address, nor a Secure one over plain HTTP.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield Visitor(session, on_landing(bot))


async def refused(visitor: Visitor, code: str, operator: Operator, **fields: str) -> Fields:
    """The form sent with `fields` changed: refused with 400, the values kept; the page as a screen reader hears it."""
    await visitor.open(f"/r/{code}")
    answer = await visitor.send(f"/r/{code}", **fields)
    assert answer.status == 400
    assert 'value="Ben Baker"' in answer.text
    assert operator.count("referrals") == 0
    return answer.page


async def test_a_form_without_consent_names_the_consent_box(code: str, visitor: Visitor, operator: Operator) -> None:
    page = await refused(visitor, code, operator, consent="")
    assert page.invalid == {"consent"}
    assert page.errors == ["Tick the box, so we may contact you."]


async def test_a_malformed_email_address_is_named(code: str, visitor: Visitor, operator: Operator) -> None:
    page = await refused(visitor, code, operator, email="ben@@example")
    assert page.invalid == {"email"}
    assert page.errors == ["Enter an e-mail address such as name@example.com."]


async def test_neither_an_email_address_nor_a_phone_number_is_refused(
    code: str, visitor: Visitor, operator: Operator
) -> None:
    page = await refused(visitor, code, operator, email="", phone="")
    assert page.invalid == {"email"}
    assert page.errors == ["Enter an e-mail address or a phone number, so we can reach you."]


async def test_a_field_past_its_cap_is_refused_before_the_domain(
    code: str, visitor: Visitor, operator: Operator
) -> None:
    page = await refused(visitor, code, operator, note="n" * 501)
    assert page.invalid == {"note"}


async def test_the_referrers_own_email_address_is_refused(
    code: str, visitor: Visitor, operator: Operator, telegram: TelegramEmulator, program: Program
) -> None:
    # The business imports Ana with her address, as `referral-bot import-advocates` does beside the running bot.
    advocates, bad = read_csv(b"telegram_id,email,first_name,segment\n1001,ana@acme.example,Ana,customer\n")
    assert not bad
    async with operator_services(settings_for(telegram, operator.database), program, links=False) as services:
        await AdvocateImport(services.units).run(advocates)
    page = await refused(visitor, code, operator, email="Ana@Acme.example")
    assert page.invalid == {"email"}
    assert page.errors == ["These are the details of the person who invited you. Please enter your own."]


async def test_a_huge_body_is_refused_unread(code: str, visitor: Visitor, operator: Operator) -> None:
    await visitor.open(f"/r/{code}")
    answer = await visitor.post(f"/r/{code}", b"note=" + b"x" * 100_000)
    assert answer.status == 413
    assert "That was too long" in answer.text
    assert operator.count("referrals") == 0


async def test_a_wrong_form_token_is_refused(code: str, visitor: Visitor, operator: Operator) -> None:
    await visitor.open(f"/r/{code}")
    visitor.token = visitor.token[:-4] + ("AAAA" if not visitor.token.endswith("AAAA") else "BBBB")
    answer = await visitor.send(f"/r/{code}")
    assert answer.status == 403
    assert "Please send the form again" in answer.text
    assert f'href="./{code}"' in answer.text  # back to the page, for a fresh form
    assert operator.count("referrals") == 0


async def test_a_form_token_from_another_browser_is_refused(code: str, visitor: Visitor, operator: Operator) -> None:
    await visitor.open(f"/r/{code}")
    visitor.cookie = ""  # a page elsewhere that copied a token cannot send the visitor's cookie with it
    assert (await visitor.send(f"/r/{code}")).status == 403
    other = Visitor(visitor.session, visitor.base)
    await other.open(f"/r/{code}")
    visitor.cookie = other.cookie  # a cookie, but not the one the token was made for
    assert (await visitor.send(f"/r/{code}")).status == 403
    assert operator.count("referrals") == 0


async def test_a_flood_from_one_visitor_is_slowed_and_others_still_get_through(
    code: str, visitor: Visitor, operator: Operator
) -> None:
    await visitor.open(f"/r/{code}")
    statuses = [(await visitor.send(f"/r/{code}", consent="")).status for _ in range(6)]
    assert statuses == [400] * 5 + [429]  # LANDING_FORMS_PER_HOUR=5
    flooded = await visitor.send(f"/r/{code}", consent="")
    assert flooded.status == 429 and 1 <= int(flooded.headers["Retry-After"]) <= 720
    assert "Too many tries" in flooded.text
    visitor.ip = "198.51.100.8"  # another visitor behind the same proxy
    assert (await visitor.send(f"/r/{code}", consent="")).status == 400
    assert operator.count("referrals") == 0


async def test_a_flood_at_one_link_from_many_addresses_is_slowed(
    code: str, visitor: Visitor, operator: Operator
) -> None:
    await visitor.open(f"/r/{code}")
    statuses = []
    for n in range(9):
        visitor.ip = f"198.51.100.{n + 10}"
        statuses.append((await visitor.send(f"/r/{code}", consent="")).status)
    assert statuses == [400] * 8 + [429]  # LANDING_FORMS_PER_CODE_PER_HOUR=8
    assert operator.count("referrals") == 0


async def test_a_filled_hidden_field_looks_sent_and_stores_nothing(
    code: str, visitor: Visitor, operator: Operator, slack: SlackEmulator
) -> None:
    await visitor.open(f"/r/{code}")
    answer = await visitor.send(f"/r/{code}", website="https://spam.example")
    assert answer.status == 200
    assert "Thank you!" in answer.text
    assert operator.count("referrals") == 0
    assert slack.messages(ALERTS) == []


async def test_an_unknown_code_shows_the_program_without_a_form(visitor: Visitor, code: str) -> None:
    for path in ("/r/AAAAAAAAAAAA", "/r/not-a-code!", "/r/" + "A" * 200):
        answer = await visitor.open(path)
        assert answer.status == 200
        assert answer.page.forms == 0
        assert "You are invited to Acme Coffee" in answer.text
        assert "15% off your first three deliveries" in answer.text
        assert 'href="https://t.me/AcmeReferralBot"' in answer.text
        assert "Ana" not in answer.text


async def test_every_answer_carries_the_security_headers(code: str, visitor: Visitor) -> None:
    page = await visitor.open(f"/r/{code}")
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-csrf=")  # PUBLIC_URL is https
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    for path in (f"/r/{code}", "/static/landing.css", "/nowhere", "/unsubscribe/unknown-token-123"):
        answer = await visitor.open(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "camera=()" in answer.headers["Permissions-Policy"]
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


async def test_a_post_never_redirects_anywhere(code: str, visitor: Visitor, operator: Operator) -> None:
    await visitor.open(f"/r/{code}")
    for fields in ({"consent": ""}, {}):
        answer = await visitor.send(f"/r/{code}?next=https://evil.example", **fields)
        assert answer.status in (200, 400) and "Location" not in answer.headers
        assert "evil.example" not in answer.text
    assert operator.count("referrals") == 1  # the good form, once


async def test_other_methods_are_not_allowed(code: str, visitor: Visitor) -> None:
    async with visitor.session.put(f"{visitor.base}/r/{code}") as response:
        assert response.status == 405
        assert response.headers["Allow"] and response.headers["X-Frame-Options"] == "DENY"


async def test_the_same_form_sent_twice_makes_one_referral(
    code: str, visitor: Visitor, operator: Operator, slack: SlackEmulator
) -> None:
    await visitor.open(f"/r/{code}")
    first, again = await visitor.send(f"/r/{code}"), await visitor.send(f"/r/{code}")
    assert (first.status, again.status) == (200, 200)
    assert "Thank you!" in again.text
    assert operator.count("referrals") == 1


async def test_unsubscribe_asks_first_then_one_click_unsubscribes(visitor: Visitor, operator: Operator) -> None:
    # An address the bot wrote to has its token (the e-mails' List-Unsubscribe link carries it).
    operator.execute(
        "INSERT INTO email_addresses (address, token, created_at) VALUES (?, ?, ?)",
        "ben@example.com",
        "tok_en-123456789",
        "2026-01-05T10:00:00+00:00",
    )
    page = await visitor.open("/unsubscribe/tok_en-123456789")
    assert page.status == 200 and page.page.forms == 1
    assert operator.rows("SELECT unsubscribed_at FROM email_addresses")[0]["unsubscribed_at"] is None
    done = await visitor.post("/unsubscribe/tok_en-123456789", b"List-Unsubscribe=One-Click")
    assert done.status == 200
    assert "We will send no more e-mails to b***@example.com." in done.text
    assert operator.rows("SELECT unsubscribed_at FROM email_addresses")[0]["unsubscribed_at"] is not None
    unknown = await visitor.post("/unsubscribe/nobody-has-this-token", b"List-Unsubscribe=One-Click")
    assert unknown.status == 404 and "Link not recognised" in unknown.text


async def test_forwarded_addresses_are_believed_only_from_the_trusted_proxies(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    settings: dict[str, Any] = {**LANDING, "landing_trusted_proxies": "10.0.0.0/8", "landing_forms_per_hour": 2}
    async with (
        team_bot(telegram, slack, program, clock, operator.database, **settings) as bot,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
    ):
        code, _ = await start(telegram, 1001, "Ana")
        visitor = Visitor(session, on_landing(bot))
        await visitor.open(f"/r/{code}")
        statuses = []
        for n in range(3):
            visitor.ip = f"198.51.100.{n}"  # 127.0.0.1 is no proxy of ours here: what it says is not believed
            statuses.append((await visitor.send(f"/r/{code}", consent="")).status)
        assert statuses == [400, 400, 429]
