"""Speed to lead: nudges at the right moments, in business hours, across a restart, never for a
referral that has moved on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator, team_bot
from helpers import refer_ben

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_unclaimed_nudges_the_channel_then_escalates_to_managers_across_a_restart(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator, tmp_path: Path
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        clock.advance(timedelta(minutes=4, seconds=50))
        await asyncio.sleep(1.5)  # a scheduler pass that must find nothing due yet
        assert operator.count("sla_timers WHERE status = 'pending'") == 2
        assert slack.thread(ALERTS, alert.ts) == []
        clock.advance(timedelta(seconds=20))
        (nudge,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        assert nudge.text.startswith("<!channel> :alarm_clock: Ben has been waiting 5 min")
    # The bot restarts; the escalation timer is still in the database.
    clock.advance(timedelta(minutes=10))
    async with team_bot(telegram, slack, program, clock, operator.database):
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="manager escalation")
        assert slack.dm(MAYA)[0].text.startswith(":rotating_light: A referral (Ben) has been unclaimed for 15 min")
        assert slack.dm(RITA) == []
    assert len(slack.thread(ALERTS, alert.ts)) == 1  # the nudge fired once, not again after the restart


async def test_claimed_but_not_contacted_nudges_the_assignee_and_moved_on_referrals_stay_quiet(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        await slack.click(RITA, alert, "referral_claim")
        await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        clock.advance(timedelta(minutes=30))  # past both claim timers: they must not fire now
        await slack.wait_for(lambda: operator.count("sla_timers WHERE status = 'cancelled'") == 2, what="cancelled")
        clock.advance(timedelta(minutes=31))
        await slack.wait_for(lambda: len(slack.dm(RITA)) == 1, what="contact nudge")
        assert (
            slack.dm(RITA)[0].text
            == ":alarm_clock: You claimed Ben 61 min ago. Please reach out and mark the referral as contacted."
        )
        assert slack.dm(MAYA) == []
        assert len(slack.thread(ALERTS, alert.ts)) == 1  # only the claim audit


async def test_timers_pause_outside_business_hours(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    friday_evening = datetime(2026, 1, 9, 16, 58, tzinfo=UTC)  # 17:58 in Madrid, two minutes before closing
    clock = FakeClock(friday_evening)
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await refer_ben(telegram, slack)
        (due,) = operator.rows("SELECT due_at FROM sla_timers WHERE kind = 'claim_nudge'")
        assert due["due_at"] == "2026-01-12T08:03:00.000000+00:00"  # Monday 09:03 in Madrid
        clock.advance(timedelta(days=2))  # the weekend passes: nothing
        await asyncio.sleep(1.5)
        assert operator.count("sla_timers WHERE status = 'pending'") == 2
        assert slack.thread(ALERTS, alert.ts) == []
        clock.advance(timedelta(hours=15, minutes=5))  # Monday 09:03 in Madrid
        (nudge,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
        assert "waiting 5 min" in nudge.text  # business minutes, not the weekend
