"""Socket Mode: the same team side with no public URL, over Slack's websocket."""

from __future__ import annotations

from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator, eventually, team_bot
from helpers import current, refer_ben


async def test_clicks_and_commands_arrive_over_socket_mode(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, program, clock, operator.path, mode="socket"):
        assert slack.socket_clients == 1
        alert = await refer_ben(telegram, slack)
        acked = await slack.click(RITA, alert, "referral_claim")
        assert acked.status == 200
        await eventually(lambda: operator.rows("SELECT assignee FROM referrals") == [{"assignee": RITA}])
        await slack.wait_for(lambda: "Claimed* by" in current(slack, alert).plain(), what="alert updated")
        await slack.slash_command(MAYA, "/referrals", "pending", channel_id=ALERTS)
        await slack.wait_for(lambda: len(slack.responses) == 1, what="pending answer")
        assert f"claimed by <@{RITA}>, not yet contacted" in slack.responses[0]["text"]
