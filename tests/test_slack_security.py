"""Only Slack may drive the team side, and Slack's own retries change nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator
from helpers import ask, call_scripts, current, refer_ben, told_privately


@pytest.mark.parametrize(
    "forgery", [{"sign": False}, {"tamper": True}, {"timestamp_offset": -400}], ids=["unsigned", "tampered", "stale"]
)
async def test_unsigned_tampered_and_stale_requests_are_refused(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, forgery: dict[str, object]
) -> None:
    alert = await refer_ben(telegram, slack)
    response = await slack.click(RITA, alert, "referral_claim", **forgery)  # type: ignore[arg-type]
    assert response.status == 401
    command = await slack.slash_command(RITA, "/referrals", "pending", channel_id=ALERTS, **forgery)  # type: ignore[arg-type]
    assert command.status == 401
    assert operator.rows("SELECT status FROM referrals") == [{"status": "new"}]
    assert slack.responses == []


async def test_a_slack_retry_of_a_click_has_no_second_effect(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_claim")
    retried = await slack.resend_last(retry_num=1)
    assert retried.status == 200
    await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    await slack.wait_for(lambda: current(slack, alert).edits == 1, what="one update")
    assert len(slack.thread(ALERTS, alert.ts)) == 1
    await slack.wait_for(lambda: len(call_scripts(slack, RITA)) == 1, what="Rita's call script")
    assert told_privately(slack, RITA) == []  # the retry is recognised, not refused as a second claim
    assert operator.count("events WHERE kind = 'referral.status'") == 1


async def test_a_replayed_slash_command_runs_once(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    assert await ask(slack, MAYA, "export all") == "Here is the referral trail for all time: 1 event."
    for _ in range(2):  # captured and sent again, validly signed, inside the five minutes Slack allows
        assert (await slack.replay_last()).status == 200
    await asyncio.sleep(0.3)  # time for a second answer and file to arrive, if the bot wrongly ran it again
    assert len(slack.files(slack.dm_channel(MAYA))) == 1
    assert len(slack.responses) == 1
