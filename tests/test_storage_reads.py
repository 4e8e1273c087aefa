"""The storage contract, continued: the named reads behind the figures, the sweeps and the operator tools, on every
backend. (The funnel, medians, leaderboard, reps, pending list, export and CRM pages are held to figures counted
from the rows in test_report_tallies.py, test_slack_commands.py and test_crm_api.py, also on every backend.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.core.figures import (
    HeldLine,
    NpsComment,
    NpsFigures,
    OutboxCount,
    ReferralSummary,
    RewardSummary,
    SurveyAnswer,
)
from bot.core.models import Customer, Referral, Reward
from storage import Store, open_store

from conftest import Operator

BACKENDS = ("sqlite", "postgresql")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


@pytest.fixture
async def store(operator: Operator) -> AsyncIterator[Store]:
    opened = await open_store(operator.url)
    await opened.migrate()
    await _seed(opened)
    yield opened
    await opened.close()


def _customer(telegram_id: int, name: str, segment: str, variant: str, joined: datetime, **more: object) -> Customer:
    return Customer(
        telegram_id, name, None, name.lower(), "en", segment, f"code{telegram_id:08d}", variant, joined, joined,
        **more,  # type: ignore[arg-type]
    )  # fmt: skip


async def _seed(store: Store) -> None:
    """Ana referred Dee (converted) and someone by phone (new); Ben referred Eve (claimed). NPS: Ana a promoter,
    Ben a detractor with a comment, Ivy asked by the days sweep long ago, Jo asked for another reason."""
    async with store.transaction() as tx:
        for customer in (
            _customer(1, "Ana", "customer", "a", T0 - 100 * DAY),
            _customer(2, "Ben", "inner_circle", "b", T0 - 100 * DAY),
            _customer(4, "Dee", "customer", "a", T0 + DAY),  # joined after the sweep's cut
            _customer(5, "Eve", "customer", "b", T0 - 40 * DAY),
            _customer(6, "Fay", "customer", "a", T0 - 40 * DAY, asks_opted_out=True),
            _customer(7, "Gus", "partner", "a", T0 - 40 * DAY),
            _customer(8, "Hal", "customer", "a", T0 - 50 * DAY, unreachable_at=T0),
            _customer(9, "Ivy", "customer", "a", T0 - 60 * DAY),
            _customer(10, "Jo", "customer", "b", T0 - 70 * DAY),
        ):
            await tx.insert_customer(customer)
        await tx.insert_referral(
            Referral("r1", 1, "link", "link", "converted", T0, T0, friend_telegram_id=4, deal_value=Decimal("120.50"))
        )
        await tx.insert_referral(Referral("r2", 1, "direct", "direct", "new", T0, T0, friend_contact="+34600000000"))
        await tx.insert_referral(Referral("r3", 2, "link", "link", "claimed", T0, T0, friend_telegram_id=5))
        await tx.insert_reward(Reward("w1", "r1", 1, "referrer", "10% off", "pending", T0, T0))
        await tx.insert_reward(Reward("w2", "r1", 4, "friend", "Free coffee", "issued", T0, T0))
        for question, customer_id, dedupe, at in (
            ("q1", 1, None, T0),
            ("q2", 2, None, T0),
            ("q9", 9, "nps:days:9", T0 - 200 * DAY),
            ("q10", 10, "conversion:r0", T0 - 200 * DAY),
        ):
            await tx.add_nps_question(question, customer_id, "days", dedupe, "a", at)
        await tx.answer_nps("q1", 1, 9, T0 + timedelta(hours=1))
        await tx.answer_nps("q2", 2, 3, T0 + timedelta(hours=1))
        await tx.update_nps("q2", comment="too slow", commented_at=T0 + timedelta(hours=2))
        await tx.add_feedback_answer(1, "program", "More rewards", T0 + timedelta(hours=3))
        for n, platform in enumerate(("telegram", "telegram", "slack")):
            await tx.enqueue(platform, "1", {"n": n}, f"k{n}", T0)
    (row,) = await store.claim_due(T0, 10, timedelta(seconds=60), platform="slack")
    await store.mark_dead(row.id, T0, "channel_not_found")


async def test_operators_counts_by_status_and_the_outbox_backlog(store: Store) -> None:
    await store.ping()
    assert await store.referrals_by_status() == {"converted": 1, "new": 1, "claimed": 1}
    assert await store.pending_count() == 2
    assert await store.dead_letters() == 1
    backlog = await store.outbox_counts(("pending", "sending", "dead"))
    assert sorted(backlog, key=lambda c: c.platform) == [
        OutboxCount("slack", "dead", 1),
        OutboxCount("telegram", "pending", 2),
    ]
    assert sorted(await store.outbox_counts(("sending",)), key=lambda c: c.platform) == []
    assert len(await store.outbox_counts()) == 2


async def test_nps_figures_count_the_answers_of_the_period(store: Store) -> None:
    assert await store.nps_figures(None) == NpsFigures(promoters=1, passives=0, detractors=1)
    assert await store.nps_figures(T0) == NpsFigures(1, 0, 1)
    assert await store.nps_figures(T0 + timedelta(hours=2)) == NpsFigures(0, 0, 0)


async def test_managers_read_the_latest_answers_and_comments_with_names(store: Store) -> None:
    assert await store.survey_answers(15) == [
        SurveyAnswer("More rewards", stamp(T0 + timedelta(hours=3)), "Ana", None, "ana")
    ]
    assert await store.nps_comments(15) == [
        NpsComment(3, "too slow", stamp(T0 + timedelta(hours=2)), "Ben", None, "ben")
    ]
    assert await store.survey_answers(0) == []


async def test_customers_are_counted_by_variant(store: Store) -> None:
    assert await store.customers_by_variant() == {"a": 6, "b": 3}


async def test_the_days_sweep_asks_those_who_joined_long_enough_ago_and_may_be_asked(store: Store) -> None:
    # Eve and Jo: Ana and Ben were asked lately, Dee joined after the cut, Fay opted out, Gus is a partner, Hal is
    # unreachable, Ivy was asked by this sweep before. Jo was asked before the gap for another reason.
    due = await store.due_for_nps(T0, ["customer", "inner_circle"], T0 - 90 * DAY, 50)
    assert due == [10, 5]  # the longest-standing first
    assert await store.due_for_nps(T0, ["customer", "inner_circle"], T0 - 90 * DAY, 1) == [10]
    assert await store.due_for_nps(T0, ["partner"], T0 - 90 * DAY, 50) == [7]


async def test_a_detractor_without_an_alert_is_found_once_the_comment_could_no_longer_come(store: Store) -> None:
    assert await store.unalerted_detractors(T0, 50) == []  # answered after this moment: the comment may still come
    (late,) = await store.unalerted_detractors(T0 + DAY, 50)
    assert (late.id, late.customer_id, late.score, late.comment) == ("q2", 2, 3, "too slow")
    assert late.answered_at == T0 + timedelta(hours=1)
    async with store.transaction() as tx:
        await tx.update_nps("q2", alerted_at=T0 + DAY)
    assert await store.unalerted_detractors(T0 + DAY, 50) == []


async def test_the_demo_summary_names_both_sides(store: Store) -> None:
    referrals = sorted(await store.referral_summaries(), key=lambda r: r.referrer)
    assert referrals == [
        ReferralSummary("link", "converted", "120.50", "Ana", "Dee", None),
        ReferralSummary("link", "claimed", None, "Ben", "Eve", None),
    ]
    assert await store.reward_summaries() == [
        RewardSummary("Ana", "10% off", "pending"),
        RewardSummary("Dee", "Free coffee", "issued"),
    ]


async def test_the_review_queue_lists_held_referrals_oldest_first_and_counts_them_per_referrer(store: Store) -> None:
    assert (await store.review_queue(10), await store.review_count()) == ([], 0)
    async with store.transaction() as tx:
        for n, (referrer, friend) in enumerate(((1, 7), (2, None), (1, None))):
            held = Referral(
                f"h{n}", referrer, "link" if friend else "direct", "link", "held", T0 + n * DAY, T0 + n * DAY,
                friend_telegram_id=friend, friend_name=None if friend else f"Typed{n}", flagged=True,
                flag_reason="velocity",
            )  # fmt: skip
            await tx.insert_referral(held)
        assert (await tx.count_held(1), await tx.count_held(2), await tx.count_held(5)) == (2, 1, 0)
    assert await store.review_queue(2) == [
        HeldLine("h0", stamp(T0), "link", "velocity", None, "Gus", "Ana", "ana"),
        HeldLine("h1", stamp(T0 + DAY), "direct", "velocity", "Typed1", None, "Ben", "ben"),
    ]
    assert [line.friend for line in await store.review_queue(10)] == ["Gus", "Typed1", "Typed2"]
    assert await store.review_count() == 3
    assert await store.pending_count() == 2  # held referrals are not the team's yet
