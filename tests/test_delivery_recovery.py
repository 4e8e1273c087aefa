"""After a crash: an alert the dead process had posted but not recorded is found in the channel, not posted twice.
And while a platform cannot be reached, its messages wait for it without using up their tries."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, RITA, Operator, eventually, team_bot
from helpers import start


def die_after_posting(operator: Operator, lease_until: str) -> None:
    """What a SIGKILL between chat.postMessage and its commit leaves: the row still leased, no record of the post."""
    with sqlite3.connect(operator.path) as connection:
        connection.execute(
            "UPDATE outbox SET status = 'sending', sent_at = NULL, platform_message_id = NULL, lease_until = ?"
            " WHERE dedupe_key LIKE 'alert:%'",
            (lease_until,),
        )
        connection.execute("DELETE FROM slack_alerts")


@pytest.mark.parametrize("history_readable", [True, False])
async def test_an_alert_posted_just_before_a_crash_is_found_not_posted_again(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    history_readable: bool,
) -> None:
    async with team_bot(telegram, slack, program, clock, operator.path):
        code, _ = await start(telegram, 1001, "Ana")
        await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
        (card,) = await slack.wait_for_messages(ALERTS, 1)
        await eventually(lambda: operator.count("slack_alerts") == 1)
    die_after_posting(operator, (clock.now() + timedelta(seconds=60)).isoformat(timespec="microseconds"))
    if not history_readable:  # an app installed without channels:history
        slack.fail_next("conversations.history", "missing_scope")

    async with team_bot(telegram, slack, program, clock, operator.path):
        # No clock moves: the lease the dead process held has not run out, but with one bot per database file
        # nobody else can be sending it, so the restarted bot takes it over at once.
        await eventually(lambda: operator.count("outbox WHERE status = 'sent' AND dedupe_key LIKE 'alert:%'") == 1)
        posted = slack.messages(ALERTS)
        if not history_readable:  # nothing tells the bot the card is out: it posts again rather than lose it
            assert len(posted) == 2
            return
        assert [message.ts for message in posted] == [card.ts]
        (row,) = operator.rows("SELECT platform_message_id FROM outbox WHERE dedupe_key LIKE 'alert:%'")
        assert row["platform_message_id"] == card.ts
        await slack.click(RITA, card, "referral_claim")  # the card found again still works
        (claimed,) = await slack.wait_for_messages(ALERTS, 1)
        await eventually(lambda: "Claimed* by" in slack.messages(ALERTS)[0].plain())
        assert claimed.ts == card.ts


async def test_a_second_bot_on_the_same_database_is_refused(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, program, clock, operator.path):
        with pytest.raises(ConfigError, match=r"another referral-bot is already running on .*referrals\.db"):
            async with team_bot(telegram, slack, program, clock, operator.path):
                pass
    async with team_bot(telegram, slack, program, clock, operator.path):  # the first one stopped: free again
        pass


async def test_a_platform_that_cannot_be_reached_is_tried_by_one_send_at_a_time_and_no_message_loses_a_try(
    engine: Engine, telegram: TelegramEmulator, clock: FakeClock, operator: Operator
) -> None:
    """Telegram answering 502 Bad Gateway (as in an outage): one send tries again after 1 s, then 2 s, while the
    messages of every other chat wait for it; none of them uses up an attempt, and all go out once it answers."""
    code, _ = await start(telegram, 1001, "Ana")
    telegram.fail_next("sendMessage", 502, "Bad Gateway", times=3)
    for n in range(4):
        await telegram.open_deep_link(telegram.user(2000 + n, f"Friend {n}"), code)

    def tries() -> int:
        return sum(r.method == "sendMessage" and r.status == 502 for r in telegram.requests)

    await eventually(lambda: tries() == 1)
    for wait, tried in ((1, 2), (2, 3)):
        await asyncio.sleep(0.5)  # claim passes come and go: nothing is sent while the platform is waited for
        assert tries() == tried - 1
        clock.advance(timedelta(seconds=wait))
        await eventually(lambda: tries() == tried)  # noqa: B023 (checked before the loop moves on)
    clock.advance(timedelta(seconds=4))
    await eventually(lambda: operator.count("outbox WHERE status <> 'sent'") == 0)
    assert {row["attempts"] for row in operator.rows("SELECT attempts FROM outbox")} == {1}
    assert len(telegram.messages(1001)) == 5 and all(len(telegram.messages(2000 + n)) == 1 for n in range(4))
