"""Rewards: per-segment rules, earned on arrival or conversion, coupons, credit, manual tasks, held rewards, tiers."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.rules import Program
from bot.program.sections import LocalizedText, RewardRule, SidesOverride, Tier
from bot.rewards.coupons import import_codes, read_codes
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import ALERTS, MAYA, RITA, ROOT, SAM, Operator, eventually, team_bot
from helpers import as_seen, ask, current, review_queue, said, start, told_privately, with_incentives

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


@pytest.fixture
async def rewards_bot(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    request: Any,
) -> AsyncIterator[Engine]:
    rules = with_incentives(program, **request.param)
    async with team_bot(telegram, slack, rules, clock, operator.database) as running:
        yield running


def incentives(**changes: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("rewards_bot", [changes], indirect=True)


async def add_codes(operator: Operator, pool: str, *codes: str) -> None:
    store = await open_store(operator.url)
    try:
        lines = list(read_codes("\n".join(codes)))
        await import_codes(store, pool, lines, datetime.now().astimezone(), lambda _: None)
    finally:
        await store.close()


async def set_segment(operator: Operator, telegram_id: int, segment: str) -> None:
    store = await open_store(operator.url)
    try:
        async with store.transaction() as tx:
            await tx.update_customer(telegram_id, segment=segment)
    finally:
        await store.close()


async def arrive(telegram: TelegramEmulator, code: str, friend_id: int, name: str) -> int:
    return await telegram.open_deep_link(telegram.user(friend_id, name), code)


async def convert(slack: SlackEmulator, alert: SlackMessage, operator: Operator, referral_id: str) -> None:
    await slack.click(RITA, alert, "referral_claim")
    await slack.click(RITA, alert, "referral_converted")
    modal = slack.views(RITA)[-1]
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": ""}})
    sql = "SELECT status FROM referrals WHERE id = ?"
    await eventually(lambda: operator.rows(sql, referral_id) == [{"status": "converted"}])


def referral_of(operator: Operator, friend_id: int) -> str:
    return str(operator.rows("SELECT id FROM referrals WHERE friend_telegram_id = ?", friend_id)[0]["id"])


def alert_for(slack: SlackEmulator, name: str) -> SlackMessage:
    return next(m for m in slack.messages(ALERTS) if f"{name} was referred" in m.plain())


@incentives(
    segments={
        "partner": SidesOverride(
            referrer=RewardRule(en="10 EUR credit", kind="credit", amount=Decimal("10")),
            friend=RewardRule(en="a partner welcome pack"),
        )
    }
)
async def test_the_referrers_segment_decides_both_sides_and_a_credit_is_shown(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await set_segment(operator, 1001, "partner")  # as if imported as a partner
    await arrive(telegram, code, 2001, "Ben")
    thanks = (await telegram.wait_for_messages(1001, 2))[1]
    assert "Your reward: 10 EUR credit" in thanks.text
    alert = (await slack.wait_for_messages(ALERTS, 1))[0]
    await convert(slack, alert, operator, referral_of(operator, 2001))
    assert "Your reward: 10 EUR credit" in await said(telegram, 1001, "Great news")
    credit = await said(telegram, 1001, "in credit")
    assert credit == "🎁 Ana, 10.00 EUR in credit is now on your account: 10 EUR credit"
    assert "Your welcome gift: a partner welcome pack" in await said(telegram, 2001, "Welcome aboard")
    assert operator.rows("SELECT role, kind, amount, currency, status FROM rewards ORDER BY role") == [
        {"role": "friend", "kind": "text", "amount": None, "currency": None, "status": "issued"},
        {"role": "referrer", "kind": "credit", "amount": "10", "currency": "EUR", "status": "issued"},
    ]
    # A customer in another segment still earns the program's own rewards.
    code_cal, _ = await start(telegram, 1002, "Cal")
    await arrive(telegram, code_cal, 2002, "Dee")
    assert "a free bag of beans" in (await telegram.wait_for_messages(1002, 2))[1].text


@incentives(friend=RewardRule(en="a welcome coupon", kind="coupon", pool="welcome", earned_on="arrival"))
async def test_a_coupon_earned_on_arrival_is_handed_out_at_once_and_never_twice(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await add_codes(operator, "welcome", *(f"WELCOME-{n}" for n in range(1, 31)))
    code, _ = await start(telegram, 1001, "Ana")
    update_id = await arrive(telegram, code, 2001, "Ben")
    ben = await said(telegram, 2001, "Your code")
    assert ben == "🎁 Ben, here is your reward: a welcome coupon\nYour code: WELCOME-1"
    await telegram.replay(update_id)  # Telegram delivers the same update again
    # Friends arriving all at once each get their own code.
    await asyncio.gather(*(arrive(telegram, code, 3000 + n, f"F{n}") for n in range(8)))
    for n in range(8):
        await telegram.wait_for_messages(3000 + n, 2)
    await eventually(lambda: operator.count("coupon_codes WHERE status = 'issued'") == 9)
    issued = operator.rows("SELECT code, reward_id FROM coupon_codes WHERE status = 'issued'")
    assert len({row["reward_id"] for row in issued}) == 9
    assert operator.rows("SELECT COUNT(*) AS n FROM rewards WHERE code IS NOT NULL")[0]["n"] == 9
    assert len(telegram.messages(2001)) == 2  # the replay changed nothing
    # The referrer's reward waits for the conversion.
    assert operator.rows("SELECT DISTINCT status FROM rewards WHERE role = 'referrer'") == [{"status": "pending"}]


@incentives(
    friend=RewardRule(en="a welcome coupon", kind="coupon", pool="welcome", earned_on="arrival"), low_pool_warning=1
)
async def test_a_pool_running_low_warns_once_and_an_empty_one_owes_the_code(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await add_codes(operator, "welcome", "CODE-A", "CODE-B", "CODE-C")
    code, _ = await start(telegram, 1001, "Ana")
    for n in range(5):
        await arrive(telegram, code, 2001 + n, f"Friend{n}")
        await telegram.wait_for_messages(2001 + n, 2)
    fifth = telegram.messages(2005)[1].text
    assert fifth.startswith("🎁 Friend4, your reward is confirmed: a welcome coupon\nYour code is on its way")

    def notices() -> list[str]:
        return [m.text for m in slack.messages(ALERTS) if "Coupon pool" in m.text]

    await slack.wait_for(lambda: len(notices()) >= 2, what="pool warnings")
    await asyncio.sleep(0.2)  # and no more than those two
    assert notices() == [
        ":warning: Coupon pool *welcome* is running low: 1 code left. Import more with"
        " `referral-bot import-coupons welcome codes.csv`.",
        ":rotating_light: Coupon pool *welcome* is empty: rewards that need a code are waiting. Import codes with"
        " `referral-bot import-coupons welcome codes.csv` and they go out at once.",
    ]
    assert operator.rows("SELECT status, COUNT(*) AS n FROM rewards WHERE role = 'friend' GROUP BY status") == [
        {"status": "issued", "n": 3},
        {"status": "owed", "n": 2},
    ]


@incentives()
async def test_a_manual_reward_is_a_task_with_a_done_button(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, clock: FakeClock
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await arrive(telegram, code, 2001, "Ben")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    await convert(slack, alert, operator, referral_of(operator, 2001))
    task = (await slack.wait_for_messages(ALERTS, 2))[1]
    assert ":gift: Send *Ana* their reward: a free bag of beans" in task.plain()
    assert [b["text"] for b in task.buttons()] == ["Done"]
    await slack.click(SAM, task, "reward_done")
    await slack.wait_for(lambda: current(slack, task).edits == 1, what="task updated")
    assert f":white_check_mark: Done by <@{SAM}> on 2026-01-05 09:00 UTC" in current(slack, task).plain()
    assert current(slack, task).buttons() == []
    told = await said(telegram, 1001, "Good news")
    assert told == "📦 Good news, Ana: your reward is on its way! a free bag of beans"
    before = len(telegram.messages(1001))
    await slack.click(RITA, task, "reward_done")  # a stale screen: the second click changes nothing
    await slack.wait_for(lambda: len(told_privately(slack, RITA)) == 1, what="refusal")
    assert told_privately(slack, RITA) == [f"<@{SAM}> has already marked this reward done."]
    assert operator.rows("SELECT fulfilled_by FROM rewards WHERE role = 'referrer'") == [{"fulfilled_by": SAM}]
    await asyncio.sleep(0.2)
    assert len(telegram.messages(1001)) == before


async def flagged_referral(telegram: TelegramEmulator, slack: SlackEmulator) -> SlackMessage:
    """With one arrival an hour allowed, Ana's second friend is held for review, with its rewards: the manager's
    review queue, which lists it."""
    code, _ = await start(telegram, 1001, "Ana")
    await arrive(telegram, code, 2001, "Ben")
    await arrive(telegram, code, 2002, "Cal")
    await slack.wait_for_messages(ALERTS, 1)
    await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the managers told of the burst")
    queue = await review_queue(slack, MAYA)
    assert "*Cal* referred by Ana" in queue.plain()
    return queue


FAST_COUPON = {"friend": RewardRule(en="a welcome coupon", kind="coupon", pool="welcome", earned_on="arrival")}
CAL = "(SELECT id FROM referrals WHERE friend_telegram_id = 2002)"


@pytest.fixture
def strict(program: Program) -> Program:
    return program.model_copy(update={"limits": program.limits.model_copy(update={"velocity_per_hour": 1})})


async def test_a_manager_approves_held_rewards_and_a_rep_cannot(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, with_incentives(strict, **FAST_COUPON), clock, operator.database):
        await add_codes(operator, "welcome", "CODE-A", "CODE-B")
        queue = await flagged_referral(telegram, slack)
        assert [b["text"] for b in queue.buttons()] == ["Approve", "Reject"]
        assert not [m for m in telegram.messages(2002) if "code" in m.text]  # Cal has no code yet
        assert (await ask(slack, RITA, "review")).startswith("Sorry, `/referrals review` is for managers.")
        await slack.click(MAYA, queue, "referral_approve_0")
        await slack.resend_last()  # Slack retries the same click
        cal = await said(telegram, 2002, "Your code")
        assert cal == "🎁 Cal, here is your reward: a welcome coupon\nYour code: CODE-B"
        await slack.wait_for_messages(ALERTS, 2)
        alert = alert_for(slack, "Cal")
        (audit,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        assert audit.text == f":white_check_mark: <@{MAYA}> approved the held rewards (2): they are released"
        await slack.wait_for(lambda: "Rewards approved by" in current(slack, alert).plain(), what="alert updated")
        assert "Approve rewards" not in [b["text"] for b in current(slack, alert).buttons()]
        rows = operator.rows(f"SELECT role, status FROM rewards WHERE referral_id = {CAL} ORDER BY role")
        assert rows == [{"role": "friend", "status": "issued"}, {"role": "referrer", "status": "pending"}]
        await slack.click(MAYA, queue, "referral_reject_0")  # from the list as it was: a change of mind changes nothing
        refusal = f"<@{MAYA}> has already approved these rewards."
        await slack.wait_for(lambda: refusal in [m.text for m in slack.ephemerals(MAYA)], what="decision refused")
        assert len(slack.thread(ALERTS, alert.ts)) == 1
        assert len([m for m in telegram.messages(2002) if "Your code" in m.text]) == 1


async def test_a_manager_rejects_held_rewards(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, with_incentives(strict), clock, operator.database):
        queue = await flagged_referral(telegram, slack)
        await slack.click(MAYA, queue, "referral_reject_0")
        told = await said(telegram, 2002, "finished its review")
        assert told.startswith("Cal, our team has finished its review, and we are sorry")
        rows = operator.rows(f"SELECT DISTINCT status FROM rewards WHERE referral_id = {CAL}")
        assert rows == [{"status": "revoked"}]
        assert operator.rows("SELECT status, review, reviewed_by FROM referrals WHERE friend_telegram_id = 2002") == [
            {"status": "rejected", "review": "rejected", "reviewed_by": MAYA}
        ]
        await slack.wait_for(lambda: "You rejected Cal" in as_seen(slack, queue).plain(), what="the list redrawn")
        assert len(slack.messages(ALERTS)) == 1  # Cal never reached the team


async def test_a_rep_cannot_undo_a_managers_approval_by_flagging(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, with_incentives(strict), clock, operator.database):
        queue = await flagged_referral(telegram, slack)
        await slack.click(MAYA, queue, "referral_approve_0")
        await slack.wait_for_messages(ALERTS, 2)
        alert = alert_for(slack, "Cal")
        await slack.wait_for(lambda: "Rewards approved by" in current(slack, alert).plain(), what="approved")
        approved = operator.rows(f"SELECT id, status FROM rewards WHERE referral_id = {CAL} ORDER BY id")
        await slack.click(RITA, alert, "referral_flag")
        await slack.wait_for(lambda: len(slack.ephemerals(RITA)) == 1, what="refusal")
        assert slack.ephemerals(RITA)[0].text == (
            "A manager has approved this referral's rewards, so only a manager can flag it now."
        )
        assert operator.rows(f"SELECT id, status FROM rewards WHERE referral_id = {CAL} ORDER BY id") == approved
        assert operator.rows(f"SELECT status FROM referrals WHERE id = {CAL}") == [{"status": "new"}]
        await slack.click(MAYA, alert, "referral_flag")  # the manager may change the decision
        await eventually(lambda: operator.count("referrals WHERE status = 'rejected'") == 1)


@incentives(
    referrer=RewardRule(en="a thank-you note"),
    tiers=(
        Tier(
            conversions=2,
            name=LocalizedText(en="Gold"),
            bonus=RewardRule(en="5 EUR credit", kind="credit", amount=Decimal("5")),
        ),
        Tier(conversions=3, name=LocalizedText(en="Platinum"), bonus=RewardRule(en="a grinder")),
    ),
)
async def test_crossing_a_tier_grants_its_bonus_once_and_progress_is_shown(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    ana = telegram.user(1001, "Ana")
    for n, name in enumerate(("Ben", "Cal")):
        await arrive(telegram, code, 2001 + n, name)
        await slack.wait_for_messages(ALERTS, n + 1)
        await convert(slack, alert_for(slack, name), operator, referral_of(operator, 2001 + n))
        if n == 0:
            await telegram.press_button(ana, welcome, "mine")
            assert "🏆 1 of 2 conversions to Gold" in await said(telegram, 1001, "Your referrals")
    gold = await said(telegram, 1001, "you reached")
    assert gold == "🏆 Ana, you reached Gold: 2 friends have become customers thanks to you!\nYour bonus: 5 EUR credit."
    assert await said(telegram, 1001, "in credit") == "🎁 Ana, 5.00 EUR in credit is now on your account: 5 EUR credit"
    shown = len(telegram.messages(1001))
    await telegram.press_button(ana, welcome, "mine")
    screen = (await telegram.wait_for_messages(1001, shown + 1))[shown]
    assert "🏆 2 of 3 conversions to Platinum" in screen.text
    assert "5 EUR credit: issued · credit 5.00 EUR" in screen.text
    await arrive(telegram, code, 2003, "Dee")
    await slack.wait_for_messages(ALERTS, 3)
    await convert(slack, alert_for(slack, "Dee"), operator, referral_of(operator, 2003))
    await said(telegram, 1001, "reached Platinum")
    bonuses = operator.rows("SELECT tier, kind, status FROM rewards WHERE tier IS NOT NULL ORDER BY tier")
    assert bonuses == [  # Gold once, though Ana has passed it twice since
        {"tier": 2, "kind": "credit", "status": "issued"},
        {"tier": 3, "kind": "text", "status": "issued"},
    ]


@incentives(
    tiers=(Tier(conversions=3, name=LocalizedText(en="Gold"), bonus=RewardRule(en="a grinder")),),
    segments={
        "inner_circle": SidesOverride(
            tiers=(
                Tier(conversions=1, name=LocalizedText(en="Insider"), bonus=RewardRule(en="a tasting box")),
                Tier(conversions=2, name=LocalizedText(en="Ambassador"), bonus=RewardRule(en="a grinder")),
            )
        ),
        "partner": SidesOverride(tiers=()),  # no ladder at all
    },
)
async def test_a_segment_climbs_its_own_ladder_and_my_referrals_follows_it(
    rewards_bot: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, welcome = await start(telegram, 1001, "Ana")
    await set_segment(operator, 1001, "inner_circle")
    await arrive(telegram, code, 2001, "Ben")
    await slack.wait_for_messages(ALERTS, 1)
    await convert(slack, alert_for(slack, "Ben"), operator, referral_of(operator, 2001))
    reached = await said(telegram, 1001, "you reached")
    assert reached.startswith("🏆 Ana, you reached Insider: 1 friends have become customers")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "mine")
    assert "🏆 1 of 2 conversions to Ambassador" in await said(telegram, 1001, "Your referrals")
    for customer_id, name, segment, progress in ((1002, "Cal", "customer", "🏆 0 of 3"), (1003, "Dee", "partner", "")):
        _, theirs = await start(telegram, customer_id, name)
        await set_segment(operator, customer_id, segment)
        await telegram.press_button(telegram.user(customer_id, name), theirs, "mine")
        screen = (await telegram.wait_for_messages(customer_id, 2))[1].text
        assert (progress in screen) and (("🏆" in screen) == bool(progress))
    assert operator.rows("SELECT tier FROM rewards WHERE tier IS NOT NULL") == [{"tier": 1}]


def test_the_commented_examples_in_the_program_file_are_valid() -> None:
    """Uncommenting the examples of each reward kind, the segments and a tier gives a valid program."""
    source = (ROOT / "program.example.toml").read_text(encoding="utf-8")
    head, marker, examples = source.partition("# Rewards.")
    examples = examples.partition("# The referral kit")[0]  # its examples name files a business adds itself
    uncommented = "\n".join(re.sub(r"^# ((\[|\w+ = ).*)$", r"\1", line) for line in examples.splitlines())
    incentives = Program.model_validate(tomllib.loads(head + marker + uncommented)).incentives
    rules = [incentives.for_side(s, r) for s in ("inner_circle", "partner") for r in ("friend", "referrer")]
    assert {rule.kind for rule in rules} | {incentives.tiers[0].bonus.kind} == {"text", "coupon", "manual", "credit"}
    assert incentives.for_side("inner_circle", "friend").earned_on == "arrival"
    assert incentives.low_pool_warning == 20 and incentives.tiers[0].conversions == 3
    assert incentives.tiers_for("inner_circle")[0].conversions == 2  # its own ladder
    assert incentives.tiers_for("partner") == incentives.tiers
