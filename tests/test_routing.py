"""Routing the lead-router way: each referral offered to one rep by DM, accepted or handed on, with away reps and
Slack presence skipped, a fallback to the channel's Claim button, a manager's Reassign, and per-rep figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.program.routing import Routing
from bot.program.rules import Limits, Program, load_program
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, ROOT, SAM, Operator, eventually, team_bot
from helpers import ask, current, refer_ben, start, told_privately

BACKENDS = ("sqlite", "postgresql")
MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # inside the example program's business hours


def routed(program: Program, **routing: object) -> Program:
    settings = {"mode": "round_robin", "reps": (RITA, SAM), **routing}
    return program.model_copy(
        update={"routing": Routing.model_validate(settings), "limits": Limits(velocity_per_hour=100)}
    )


async def offer_to(slack: SlackEmulator, rep: str, count: int = 1) -> SlackMessage:
    """The `count`th DM card `rep` was sent, once it arrives."""
    await slack.wait_for(lambda: len(slack.dm(rep)) >= count, what=f"offer {count} to {rep}")
    return slack.dm(rep)[count - 1]


def dm_now(slack: SlackEmulator, rep: str, card: SlackMessage) -> SlackMessage:
    return next(m for m in slack.dm(rep) if m.ts == card.ts)


def actions(message: SlackMessage) -> list[str]:
    return [button["action_id"] for button in message.buttons()]


async def thread_says(slack: SlackEmulator, alert: SlackMessage, fragment: str) -> str:
    def found() -> list[str]:
        return [m.text for m in slack.thread(ALERTS, alert.ts) if fragment in m.text]

    await slack.wait_for(lambda: bool(found()), what=f"thread line {fragment!r}")
    return found()[0]


async def another_friend(
    telegram: TelegramEmulator, slack: SlackEmulator, code: str, user_id: int, name: str
) -> SlackMessage:
    before = len(slack.messages(ALERTS))
    await telegram.open_deep_link(telegram.user(user_id, name), code)
    alerts = [m for m in await slack.wait_for_messages(ALERTS, before + 1) if m.thread_ts is None]
    return alerts[-1]


async def test_round_robin_offers_in_turn_by_dm_and_accept_claims_it(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        alert = await another_friend(telegram, slack, code, 2001, "Ben")
        card = await offer_to(slack, RITA)
        assert "A referral for you." in card.plain() and "Ben" in card.plain()
        assert actions(card)[0] == "referral_accept" and "referral_claim" not in actions(card)
        assert (
            await thread_says(slack, alert, "Assigned to")
            == ":bust_in_silhouette: Assigned to <@U0RITA>: 5 min to accept."
        )
        await slack.wait_for(lambda: "Assigned to <@U0RITA>, waiting" in current(slack, alert).plain(), what="card")
        assert "referral_claim" not in actions(current(slack, alert))  # the channel cannot grab it meanwhile
        await another_friend(telegram, slack, code, 2002, "Cleo")
        assert "Cleo" in (await offer_to(slack, SAM)).plain()  # the next referral, the next rep

        await slack.click(RITA, card, "referral_accept")
        await thread_says(slack, alert, "claimed it")
        (row,) = operator.rows("SELECT status, assignee FROM referrals WHERE friend_name = 'Ben'")
        assert row == {"status": "claimed", "assignee": RITA}
        await slack.wait_for(lambda: "You accepted" in dm_now(slack, RITA, card).plain(), what="card accepted")
        assert "referral_contacted" in actions(dm_now(slack, RITA, card))  # the usual buttons from here
        assert operator.count("sla_timers WHERE kind = 'contact_nudge' AND status = 'pending'") == 1


async def test_not_accepted_in_time_is_handed_on_and_the_channel_sees_it(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        alert = await refer_ben(telegram, slack)
        card = await offer_to(slack, RITA)
        clock.advance(timedelta(minutes=4, seconds=50))
        await asyncio.sleep(1.2)
        assert slack.dm(SAM) == []
        clock.advance(timedelta(seconds=20))
        line = await thread_says(slack, alert, "did not accept")
        assert line == ":arrow_right: <@U0RITA> did not accept within 5 min: handed on to <@U0SAM>."
        assert "Ben" in (await offer_to(slack, SAM)).plain()
        await slack.wait_for(lambda: "handed on to <@U0SAM>" in dm_now(slack, RITA, card).plain(), what="card edit")
        assert actions(dm_now(slack, RITA, card)) == []
        await slack.click(RITA, card, "referral_accept")  # a stale card
        await slack.wait_for(lambda: bool(told_privately(slack, RITA)), what="refusal")
        assert told_privately(slack, RITA)[-1] == "Your time to accept ran out: it was handed on to <@U0SAM>."
        assert operator.rows("SELECT status FROM referrals") == [{"status": "new"}]


async def test_away_reps_and_reps_away_in_slack_are_skipped(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        answer = await ask(slack, RITA, "away")
        assert answer.startswith(":palm_tree: You are away")
        code, _ = await start(telegram, 1001, "Ana")
        alert = await another_friend(telegram, slack, code, 2001, "Ben")
        assert "Ben" in (await offer_to(slack, SAM)).plain()
        assert slack.dm(RITA) == []
        assert (await ask(slack, RITA, "back")).startswith(":wave: Welcome back")
        slack.set_presence(SAM, "away")
        await another_friend(telegram, slack, code, 2002, "Cleo")
        assert "Cleo" in (await offer_to(slack, RITA)).plain()  # Sam's turn, but Slack shows him away
        assert len(slack.dm(SAM)) == 1
        assert await thread_says(slack, alert, "Assigned to <@U0SAM>")


async def test_nobody_available_falls_back_to_claim_with_a_note_and_tells_managers(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        await ask(slack, RITA, "away")
        alert = await refer_ben(telegram, slack)
        await offer_to(slack, SAM)
        clock.advance(timedelta(minutes=5))
        line = await thread_says(slack, alert, "Nobody could take it")
        assert line == (
            ":raising_hand: Nobody could take it: <@U0SAM> did not accept within 5 min; <@U0RITA> said they are"
            " away. Anyone can claim it now."
        )
        await slack.wait_for(lambda: "referral_claim" in actions(current(slack, alert)), what="Claim back")
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="managers told")
        assert slack.dm(MAYA)[0].text.startswith(":warning: Nobody could take the referral of Ben: <@U0SAM>")
        assert operator.count("sla_timers WHERE kind = 'claim_nudge' AND status = 'pending'") == 1
        await slack.click(RITA, alert, "referral_claim")  # anyone may claim it now
        await thread_says(slack, alert, "claimed it")


async def test_a_manager_reassigns_from_the_card_and_a_rep_cannot(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        alert = await refer_ben(telegram, slack)
        card = await offer_to(slack, RITA)
        await slack.wait_for(lambda: "referral_reassign" in actions(current(slack, alert)), what="Reassign")
        await slack.click(SAM, alert, "referral_reassign")
        await slack.wait_for(lambda: bool(told_privately(slack, SAM)), what="refusal")
        assert told_privately(slack, SAM) == ["Only a manager can reassign a referral."]
        assert slack.views(SAM) == []

        await slack.click(MAYA, alert, "referral_reassign")
        await slack.wait_for(lambda: len(slack.views(MAYA)) == 1, what="the reassign form")
        await slack.submit_view(MAYA, slack.views(MAYA)[0]["id"], {"rep": {"value": SAM}})
        assert await thread_says(slack, alert, "reassigned") == (
            ":twisted_rightwards_arrows: <@U0MAYA> reassigned it to <@U0SAM>."
        )
        sam_card = await offer_to(slack, SAM)
        await slack.wait_for(lambda: "reassigned it to <@U0SAM>" in dm_now(slack, RITA, card).plain(), what="edit")
        await slack.click(SAM, sam_card, "referral_accept")
        await eventually(lambda: operator.rows("SELECT assignee FROM referrals") == [{"assignee": SAM}])


async def test_by_segment_offers_to_the_segments_reps_else_the_fallback(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    by_segment = routed(program, mode="by_segment", reps=(), segments={"inner_circle": (SAM,)}, fallback=(RITA,))
    async with team_bot(telegram, slack, by_segment, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        operator.execute("UPDATE customers SET segment = 'inner_circle' WHERE telegram_id = 1001")
        await another_friend(telegram, slack, code, 2001, "Ben")
        assert "Ben" in (await offer_to(slack, SAM)).plain()
        other, _ = await start(telegram, 1002, "Olga")  # a customer: the fallback list
        await another_friend(telegram, slack, other, 2002, "Cleo")
        assert "Cleo" in (await offer_to(slack, RITA)).plain()
        assert len(slack.dm(SAM)) == 1


async def test_reps_figures_count_assigned_accepted_in_time_and_handed_on(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        alert = await refer_ben(telegram, slack)
        await offer_to(slack, RITA)
        clock.advance(timedelta(minutes=5))
        sam_card = await offer_to(slack, SAM)
        await slack.click(SAM, sam_card, "referral_accept")
        await thread_says(slack, alert, "claimed it")
        figures = await ask(slack, MAYA, "reps")
        assert "<@U0RITA>: 1 assigned · 0 accepted in time · 1 handed on" in figures
        assert "<@U0SAM>: 1 assigned · 1 accepted in time · 0 handed on" in figures


async def test_a_restart_keeps_the_rotation_and_the_pending_offer(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    routing = routed(program)
    async with team_bot(telegram, slack, routing, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        alert = await another_friend(telegram, slack, code, 2001, "Ben")
        await offer_to(slack, RITA)
    async with team_bot(telegram, slack, routing, clock, operator.database):
        await another_friend(telegram, slack, code, 2002, "Cleo")
        assert "Cleo" in (await offer_to(slack, SAM)).plain()  # the rotation went on: Sam's turn, not Rita's again
        clock.advance(timedelta(minutes=5))
        assert "handed on to <@U0SAM>" in await thread_says(slack, alert, "did not accept")
        assert "Ben" in (await offer_to(slack, SAM, 2)).plain()
        assert "Cleo" in (await offer_to(slack, RITA, 2)).plain()  # Sam let Cleo's offer pass too, meanwhile
    assert operator.count("route_offers") == 4 and operator.count("route_offers WHERE status = 'pending'") == 2


async def test_claim_mode_is_unchanged(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        assert actions(alert)[0] == "referral_claim" and "referral_reassign" not in actions(alert)
        assert operator.count("sla_timers WHERE status = 'pending'") == 2
        await asyncio.sleep(1.2)
        assert slack.dm(RITA) == [] and slack.dm(SAM) == [] and operator.count("routes") == 0
        assert (await ask(slack, RITA, "away")).endswith(
            "(This program does not assign referrals: anyone claims them in the channel.)"
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_routing_settings_are_checked_with_clear_errors(tmp_path: object, backend: str) -> None:
    base = (ROOT / "program.example.toml").read_text(encoding="utf-8").replace('mode = "claim"\n', "", 1)
    problems = {
        'mode = "round_robin"\n': 'mode "round_robin" needs `reps`',
        'mode = "round_robin"\nreps = ["rita"]\n': "String should match pattern",
        'mode = "round_robin"\nreps = ["U0RITA", "U0RITA"]\n': "reps names a rep twice",
        'mode = "by_segment"\nfallback = []\n': "no reps for segment inner_circle",
        'reps = ["U0RITA"]\n': 'are for mode "round_robin" or "by_segment"',
    }
    for extra, message in problems.items():
        path = tmp_path / "program.toml"  # type: ignore[operator]
        path.write_text(base.replace("[routing]\n", "[routing]\n" + extra, 1), encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_program(path)
        assert "routing" in str(caught.value) and message in str(caught.value), str(caught.value)
