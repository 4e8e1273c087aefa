"""Slack's App Home tab: a manager sees the live dashboard, refreshed as referrals change; anyone else a
short explanation of what the app does."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.delivery.outbox import Dispatcher
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator
from helpers import home_text, open_home, publishes, refer_ben, start


async def test_a_manager_opening_home_sees_the_dashboard(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    await open_home(slack, MAYA)
    text = home_text(slack, MAYA)
    assert "Referral dashboard" in text
    assert "Shared 0 → arrived 1 → claimed 0 → contacted 0 → converted 0" in text
    assert "SLA breaches: *0* of 1 (0%)" in text
    assert "*Waiting for the team* (1)" in text
    assert "• Ben (from Ana): *unclaimed* · waiting 0 min" in text
    assert "1. Ana: 0 converted of 1 referred" in text


async def test_the_dashboard_refreshes_once_after_changes_not_on_every_event(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await open_home(slack, MAYA)
    assert "Nothing pending. Nice work!" in home_text(slack, MAYA)
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_claim")
    await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    # The arrival and the claim share one refresh, due at the end of its window.
    assert operator.count("outbox WHERE platform = 'slack_home' AND chat_id = 'home:U0MAYA'") == 1
    clock.advance(timedelta(minutes=7))
    team.part(Dispatcher).wake()
    await slack.wait_for(lambda: "claimed by <@U0RITA>" in home_text(slack, MAYA), what="the refreshed dashboard")
    assert "• Ben (from Ana): claimed by <@U0RITA>, not yet contacted · waiting 7 min" in home_text(slack, MAYA)
    assert len(publishes(slack, MAYA)) == 2  # on opening, and the one refresh
    assert publishes(slack, RITA) == []  # reps are not managers: no dashboard pushed to them


async def test_a_manager_who_never_opened_home_gets_no_refreshes(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await refer_ben(telegram, slack)
    assert operator.count("outbox WHERE platform = 'slack_home'") == 0
    assert slack.home(MAYA) is None


async def test_someone_who_is_not_a_manager_sees_what_the_app_is_for(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await start(telegram, 1001, "Ana")
    await open_home(slack, RITA)
    text = home_text(slack, RITA)
    assert "New referrals arrive as alerts in <#C0ALERTS>" in text
    assert "Waiting for the team" not in text and "Top advocates" not in text


async def test_a_retried_home_event_publishes_once(team: Engine, slack: SlackEmulator, operator: Operator) -> None:
    await open_home(slack, MAYA)
    response = await slack.resend_last()
    assert response.status == 200
    assert operator.count("outbox WHERE platform = 'slack_home'") == 1
    assert len(publishes(slack, MAYA)) == 1
