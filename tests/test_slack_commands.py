"""`/referrals` for managers: the funnel, the leaderboard, pending work, reps, and the CSV trail."""

from __future__ import annotations

import csv
import io

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator, eventually
from helpers import ask, converted_referral, refer_ben, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def test_a_rep_may_see_pending_and_help_but_not_the_managers_figures(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    assert "`/referrals stats" not in await ask(slack, RITA, "help")
    assert await ask(slack, RITA, "stats") == (
        "Sorry, `/referrals stats` is for managers. You can use `/referrals pending` and `/referrals help`."
    )
    pending = await ask(slack, RITA, "pending")
    assert "*Waiting for the team* (1)" in pending
    assert "• Ben (from Ana): *unclaimed* · waiting 0 min · ⚪ on time (0 min of 5 min)" in pending
    assert "`/referrals export" in await ask(slack, MAYA, "help")


async def test_stats_top_and_reps_show_the_funnel_and_response_times(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    await telegram.open_deep_link(
        telegram.user(2002, "Cal"),
        operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"],
    )
    await slack.wait_for_messages(ALERTS, 2)
    stats = await ask(slack, MAYA, "stats 7d")
    assert "Asked 0 → shared 0 → arrived 2 → claimed 1 → contacted 1 → converted 1" in stats
    assert "Conversion rate: *50.0%*" in stats
    assert "Median time to claim: *3 min* · to first contact: *10 min*" in stats
    assert (
        await ask(slack, MAYA, "stats fortnight")
        == "I did not understand the period fortnight. Use 7d, 30d, 90d or all."
    )
    top = await ask(slack, MAYA, "top 5")
    assert "1. Ana: 1 converted of 2 referred" in top
    reps = await ask(slack, MAYA, "reps")
    assert f"<@{RITA}>: 1 claimed · median to claim 3 min · to contact 7 min · 1 converted" in reps


@pytest.mark.parametrize("count", ["²", "7²", pytest.param("9" * 5000, id="5000 digits")])
async def test_top_with_a_number_int_would_misread_answers_as_for_any_bad_number(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator, count: str
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    usual = await ask(slack, MAYA, "top abc")  # the first ten, as for no number at all
    assert "1. Ana: 1 converted of 1 referred" in usual
    assert await ask(slack, MAYA, f"top {count}") == usual


async def test_export_uploads_the_full_trail_as_csv_to_the_manager(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    answer = await ask(slack, MAYA, "export all")
    assert answer == "Here is the referral trail for all time: 4 events."
    (shared,) = slack.files(slack.dm_channel(MAYA))
    assert shared.name.startswith("referrals-all-") and shared.name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(shared.content.decode())))
    assert [(r["event"], r["by"]) for r in rows] == [
        ("created", "tg:2001"),
        ("claimed", f"slack:{RITA}"),
        ("contacted", f"slack:{RITA}"),
        ("converted", f"slack:{RITA}"),
    ]
    assert {r["referrer_name"] for r in rows} == {"Ana"} and {r["friend_name"] for r in rows} == {"Ben"}
    assert rows[-1]["detail"] == "deal_value=950.00" and rows[-1]["from_status"] == "contacted"
    assert rows[-1]["status_now"] == "converted"


async def test_export_keeps_hostile_names_as_text(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, '=HYPERLINK("http://x")')
    await telegram.open_deep_link(telegram.user(2001, "+Ben"), code)
    await slack.wait_for_messages(ALERTS, 1)
    await ask(slack, MAYA, "export 7d")
    (row,) = list(csv.DictReader(io.StringIO(slack.files(slack.dm_channel(MAYA))[0].content.decode())))
    assert row["referrer_name"] == '\'=HYPERLINK("http://x")' and row["friend_name"] == "'+Ben"


async def test_stats_tell_managers_about_dead_letters(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    telegram.block_bot(1001)
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    await eventually(lambda: operator.count("outbox WHERE status = 'dead'") == 1)
    assert ":warning: 1 message could not be delivered (dead letters)" in await ask(slack, MAYA, "stats")
    assert operator.rows("SELECT unreachable_at IS NOT NULL AS gone FROM customers WHERE telegram_id = 1001") == [
        {"gone": 1}
    ]
