"""The charts in Slack, through the real slack-sdk and bolt against the Slack emulator: `/referrals stats chart`
puts them in the manager's DM, the App Home dashboard shows them from files shared with no channel, and no one else
gets them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, Operator
from helpers import ask, converted_referral, home_text, open_home, refer_ben

BACKENDS = ("sqlite", "postgresql")
PNG = b"\x89PNG\r\n\x1a\n"
FUNNEL_ALT = (
    "Referral funnel, last 12 weeks: asked 0, shared 0, arrived 1, claimed 1, contacted 1, converted 1"
    " (100.0% of arrivals)."
)
TREND_ALT = (
    "Week by week, last 12 weeks, 12 weeks from 2025-10-20: 1 arrival, 1 conversion, 950 EUR revenue;"
    " the busiest week began 2026-01-05 with 1 arrival."
)


def uploads(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [call.params for call in slack.calls if call.method == "files.getUploadURLExternal"]


def images(slack: SlackEmulator, user: str) -> list[dict[str, Any]]:
    view = slack.home(user)
    assert view is not None
    return [block for block in view["blocks"] if block["type"] == "image"]


async def test_stats_chart_sends_both_charts_into_the_managers_dm(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    answer = await ask(slack, MAYA, "stats chart")
    assert answer == (
        "I sent you the charts in our direct messages: *Referral funnel, last 12 weeks* and"
        " *Week by week, last 12 weeks*."
    )
    funnel, trend = slack.files(slack.dm_channel(MAYA))
    assert (funnel.name, trend.name) == ("referrals-12w-20260105-funnel.png", "referrals-12w-20260105-trend.png")
    assert funnel.content.startswith(PNG) and trend.content.startswith(PNG)
    assert (funnel.title, trend.title) == ("Referral funnel, last 12 weeks", "Week by week, last 12 weeks")
    (message,) = [m for m in slack.dm(MAYA) if m.files]  # one message carries both, with what each shows in words
    assert message.files == [funnel.id, trend.id]
    assert message.text.splitlines() == [FUNNEL_ALT, TREND_ALT]
    assert [params["alt_txt"] for params in uploads(slack)] == [FUNNEL_ALT, TREND_ALT]
    assert slack.files(ALERTS) == []  # the team's channel sees nothing of it
    year = await ask(slack, MAYA, "stats chart 52w")
    assert year.endswith("*Referral funnel, last 52 weeks* and *Week by week, last 52 weeks*.")
    assert len(slack.files(slack.dm_channel(MAYA))) == 4


async def test_only_managers_get_charts_and_a_period_must_be_one(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    assert await ask(slack, RITA, "stats chart") == (
        "Sorry, `/referrals stats` is for managers. You can use `/referrals pending` and `/referrals help`."
    )
    assert await ask(slack, MAYA, "stats chart fortnight") == (
        "I did not understand the period fortnight. Use a number of weeks such as 12w (the default) or 52w for a"
        " year, or 7d, 30d, 90d or all."
    )
    assert uploads(slack) == []  # nothing drawn, nothing uploaded
    assert "`/referrals stats chart" in await ask(slack, MAYA, "help")


async def test_the_dashboard_shows_the_charts_from_files_shared_nowhere(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock
) -> None:
    alert = await refer_ben(telegram, slack)
    await open_home(slack, MAYA)
    shown = images(slack, MAYA)
    assert [block["title"]["text"] for block in shown] == [
        "Referral funnel, last 12 weeks",
        "Week by week, last 12 weeks",
    ]
    assert shown[0]["alt_text"].startswith("Referral funnel, last 12 weeks: asked 0, shared 0, arrived 1, claimed 0,")
    for block in shown:
        assert "image_url" not in block  # no public URL: the file Slack holds
        found = slack.uploaded(block["slack_file"]["id"])
        assert found is not None and found[0].endswith(".png") and found[1].startswith(PNG)
    assert not any(message.files for message in slack.all_messages())  # uploaded to no channel
    # Another refresh in the same hour, and one an hour later with the same figures, draw and upload nothing.
    await open_home(slack, MAYA)
    clock.advance(timedelta(hours=1))
    await open_home(slack, MAYA)
    assert images(slack, MAYA) == shown and len(uploads(slack)) == 2
    # Once the figures moved, the next hour's refresh draws them again.
    await slack.click(RITA, alert, "referral_claim")
    await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    clock.advance(timedelta(hours=1))
    await open_home(slack, MAYA)
    await slack.wait_for(lambda: images(slack, MAYA) != shown, what="the redrawn charts")
    assert "claimed 1" in images(slack, MAYA)[0]["alt_text"] and len(uploads(slack)) == 4


async def test_the_dashboard_still_opens_when_slack_refuses_the_upload(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await refer_ben(telegram, slack)
    slack.fail_next("files.getUploadURLExternal", "internal_error")
    await open_home(slack, MAYA)
    assert images(slack, MAYA) == [] and "Referral dashboard" in home_text(slack, MAYA)
    await open_home(slack, MAYA)  # tried again at the next refresh
    assert len(images(slack, MAYA)) == 2
    await open_home(slack, RITA)  # a rep sees what the app is for, and no figures
    assert images(slack, RITA) == []
