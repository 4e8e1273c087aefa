"""A/B copy: each customer keeps one variant chosen by weight, sees its invite copy, and managers see which
variant converts better, with a two-proportion z-test."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.models import Customer, Referral
from bot.engagement.variants import two_proportion_z_test
from bot.program.ab_copy import choose_variant
from bot.program.rules import Program, load_program
from bot.program.sections import Variant
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import ALERTS, MAYA, ROOT, Operator, settings_for, team_bot
from helpers import PITCH, VARIANTS, ask, start, with_variants


@pytest.fixture
def program() -> Program:
    """The example program with two invite variants (the `team` and `engine` fixtures run it)."""
    return with_variants(load_program(ROOT / "program.example.toml"))


def first_id_in(variant: str, start_at: int = 1001) -> int:
    return next(i for i in range(start_at, start_at + 1000) if choose_variant(i, VARIANTS) == variant)


# --- the z-test -------------------------------------------------------------------------------------


def test_the_z_test_matches_known_values() -> None:
    # 50/100 against 40/100: R's prop.test(c(50, 40), c(100, 100), correct = FALSE) gives X² = 2.0202, p = 0.1552.
    result = two_proportion_z_test(50, 100, 40, 100)
    assert result is not None
    assert result.z**2 == pytest.approx(2.0202, abs=1e-4)
    assert result.p_value == pytest.approx(0.1552, abs=1e-4)
    assert not result.significant
    # 200/1000 against 250/1000: z = -2.677, p = 0.0074.
    strong = two_proportion_z_test(200, 1000, 250, 1000)
    assert strong is not None and strong.z == pytest.approx(-2.6774, abs=1e-4)
    assert strong.p_value == pytest.approx(0.00742, abs=1e-5) and strong.significant
    # |z| = 1.96 is the 95% threshold: p = 0.05.
    assert math.erfc(1.959964 / math.sqrt(2)) == pytest.approx(0.05, abs=1e-6)
    assert two_proportion_z_test(0, 0, 3, 10) is None  # nothing to compare yet
    assert two_proportion_z_test(0, 10, 0, 10) is None  # no variation at all


# --- assignment -------------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=2**52))
def test_a_customer_always_gets_the_same_variant_and_never_a_weightless_one(telegram_id: int) -> None:
    variants = (Variant(name="a", weight=2), Variant(name="off", weight=0), Variant(name="b", weight=1))
    chosen = choose_variant(telegram_id, variants)
    assert chosen == choose_variant(telegram_id, variants)
    assert chosen in ("a", "b")


@settings(max_examples=20)
@given(st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=9))
def test_variants_are_spread_by_weight(weight_a: int, weight_b: int) -> None:
    variants = (Variant(name="a", weight=weight_a), Variant(name="b", weight=weight_b))
    people = 6000
    share = sum(choose_variant(i, variants) == "a" for i in range(1, people + 1)) / people
    expected = weight_a / (weight_a + weight_b)
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / people)  # within 4 standard errors


# --- what customers see -----------------------------------------------------------------------------


async def test_the_invite_card_and_share_page_carry_the_variants_copy(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    warm, plain = first_id_in("warm"), first_id_in("plain")
    for user_id, name in ((warm, "Ana"), (plain, "Ben")):
        await start(telegram, user_id, name)
    assert operator.rows("SELECT telegram_id, variant FROM customers ORDER BY telegram_id") == [
        {"telegram_id": user_id, "variant": variant} for user_id, variant in sorted([(warm, "warm"), (plain, "plain")])
    ]
    cards = {}
    for user_id, name in ((warm, "Ana"), (plain, "Ben")):
        _, query_id = await telegram.inline_query(telegram.user(user_id, name), "")
        (card,) = await telegram.wait_for_inline_answer(query_id)
        cards[user_id] = card["input_message_content"]["message_text"]
    assert cards[warm] == (
        f"Ana invites you to <b>Acme Coffee</b>.\n\n{PITCH}\n\n"
        "You get <b>15% off your first three deliveries</b>. Tap the button to claim it."
    )
    assert PITCH not in cards[plain] and cards[plain].startswith("Ben invites you to <b>Acme Coffee</b>.\n\nYou get")
    pages = {
        user_id: parse_qs(urlparse(telegram.messages(user_id)[0].button("✉️")["url"]).query)["text"][0]
        for user_id in (warm, plain)
    }
    assert pages[warm] == PITCH
    assert pages[plain] == "I think you would like Acme Coffee. Here is a welcome gift:"


async def test_a_customer_keeps_their_variant_when_the_program_changes(
    telegram: TelegramEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    warm = first_id_in("warm")
    settings_ = settings_for(telegram, operator.path)
    async with await build_engine(settings_, program, clock):
        await start(telegram, warm, "Ana")
    reweighted = with_variants(program, (Variant(name="fresh", weight=1),))
    async with await build_engine(settings_, reweighted, clock):
        await telegram.send_command(telegram.user(warm, "Ana"), "start")
        again = (await telegram.wait_for_messages(warm, 2))[1]
    assert again.text.startswith("Welcome back, Ana!")
    assert operator.rows("SELECT variant FROM customers") == [{"variant": "warm"}]  # never reassigned


# --- what managers see ------------------------------------------------------------------------------


async def seed_history(database: str, clock: FakeClock, arrivals: dict[str, tuple[int, int]]) -> None:
    """A program that has run for a while: per variant, one referrer with (arrivals, conversions)."""
    store = await open_store(f"sqlite:///{database}", "NORMAL", 5000)
    await store.migrate()
    now = clock.now() - timedelta(days=1)
    async with store.transaction() as tx:
        for number, (variant, (arrived, converted)) in enumerate(arrivals.items()):
            referrer = 500 + number
            await tx.insert_customer(
                Customer(referrer, f"R{number}", None, None, "en", "customer", f"code{number:08d}", variant, now, now)
            )
            for i in range(arrived):
                won = i < converted
                referral = Referral(
                    f"{variant}-{i}",
                    referrer,
                    "link",
                    "link",
                    "converted" if won else "lost",
                    now,
                    now,
                    variant=variant,
                    deal_value=Decimal(1),
                    converted_at=now if won else None,
                    lost_at=None if won else now,
                )
                await tx.insert_referral(referral)
            await tx.insert_share_event(referrer, "inline", None, now)
    await store.close()


@pytest.mark.parametrize(
    ("warm", "plain", "verdict"),
    [
        ((400, 120), (400, 80), "converted 80 (20.0%) · p = 0.001, significant at 95%"),  # z = 3.27
        ((40, 12), (40, 8), "converted 8 (20.0%) · p = 0.302, not yet significant"),  # z = 1.03
    ],
)
async def test_stats_compare_each_variant_with_the_best(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    warm: tuple[int, int],
    plain: tuple[int, int],
    verdict: str,
) -> None:
    await seed_history(str(operator.path), clock, {"plain": plain, "warm": warm})
    async with team_bot(telegram, slack, program, clock, operator.path):
        stats = await ask(slack, MAYA, "stats 7d")
    assert "*A/B variants* (conversion rate of arrivals, each against the best)" in stats
    rate = 100 * warm[1] / warm[0]
    assert f"• `warm`: shared 1 · arrived {warm[0]} · converted {warm[1]} ({rate:.1f}%) · best so far" in stats
    assert f"• `plain`: shared 1 · arrived {plain[0]} · {verdict}" in stats
    assert stats.index("`warm`") < stats.index("`plain`")  # the best first


async def test_arrivals_count_for_the_referrers_variant(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    warm, plain = first_id_in("warm"), first_id_in("plain")
    codes = {}
    for user_id, name in ((warm, "Ana"), (plain, "Ben")):
        codes[user_id], _ = await start(telegram, user_id, name)
    _, query_id = await telegram.inline_query(telegram.user(warm, "Ana"), "")
    (card,) = await telegram.wait_for_inline_answer(query_id)
    await telegram.choose_inline_result(telegram.user(warm, "Ana"), card["id"])
    for friend, referrer in ((3001, warm), (3002, warm), (3003, plain)):
        await telegram.open_deep_link(telegram.user(friend, f"F{friend}"), codes[referrer])
    await slack.wait_for_messages(ALERTS, 3)
    assert operator.rows("SELECT variant, COUNT(*) AS n FROM referrals GROUP BY variant ORDER BY variant") == [
        {"variant": "plain", "n": 1},
        {"variant": "warm", "n": 2},
    ]
    stats = await ask(slack, MAYA, "stats")
    assert "• `warm`: shared 1 · arrived 2 · converted 0 (0.0%)" in stats
    assert "• `plain`: shared 0 · arrived 1 · converted 0 (0.0%) · too little data to compare" in stats
