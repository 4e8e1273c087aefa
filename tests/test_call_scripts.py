"""Call scripts: the rep who claims a referral reads, privately, what to say on the call, in the words of the
referrer's segment; the alert's Call script button shows it to anyone; a business's own scripts win."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.program.rules import Program
from bot.program.sections import RewardRule, SidesOverride
from bot.program.settings import load_settings
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, SAM, Operator, team_bot
from helpers import call_scripts, converse, current, run, start, told_privately, with_incentives

BACKENDS = ("sqlite", "postgresql")


async def ben_arrives(
    telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, segment: str
) -> SlackMessage:
    """Ana, of this segment (as if imported so), shares her link; Ben opens it; the team's alert appears."""
    code, _ = await start(telegram, 1001, "Ana")
    operator.execute("UPDATE customers SET segment = ? WHERE telegram_id = ?", segment, 1001)
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    return alert


def shown(blocks: list[dict[str, Any]]) -> str:
    """What Slack shows of blocks (a message's text is then only its notification)."""
    return SlackMessage("", "", "", "", blocks).plain()


async def script_of(slack: SlackEmulator, user: str) -> str:
    """The call script the person was shown privately in the alert channel, once it is there."""
    await slack.wait_for(lambda: len(call_scripts(slack, user)) == 1, what=f"{user}'s call script")
    return shown(call_scripts(slack, user)[0].blocks)


async def test_claiming_shows_only_the_claimer_the_script_for_the_referrers_segment(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    inner = SidesOverride(friend=RewardRule(en="20% off your first order"))
    async with team_bot(
        telegram, slack, with_incentives(program, segments={"inner_circle": inner}), clock, operator.database
    ):
        alert = await ben_arrives(telegram, slack, operator, "inner_circle")
        await slack.click(RITA, alert, "referral_claim")
        script = await script_of(slack, RITA)
        await slack.resend_last(retry_num=1)  # Slack's retry of the click: recognised, so no second script
        await slack.wait_for(lambda: "*Claimed* by" in current(slack, alert).plain(), what="the claim on the alert")
    assert script.startswith(":telephone_receiver: *Call script · Ben*, referred by Ana (inner circle)\n")
    assert '"Hi Ben, this is (your name) from Acme Coffee. Ana is a good friend of ours' in script
    assert "Ana is in our inner circle" in script  # the inner circle's own script, not the default
    assert "We do best with: Offices of 5 to 50 people" in script
    assert '"Because Ana referred you, you get 20% off your first order."' in script  # her segment's offer
    assert script.endswith("_Opened the personal link_")
    assert len(call_scripts(slack, RITA)) == 1 and told_privately(slack, RITA) == []
    assert slack.ephemerals(SAM) == slack.ephemerals(MAYA) == []  # nobody else sees it
    assert len(slack.messages(ALERTS)) == 1  # and nothing was posted for all to see


async def refer_bea(telegram: TelegramEmulator, slack: SlackEmulator) -> SlackMessage:
    """Ana (a customer) refers Bea directly, with her e-mail and a note; the team's alert appears."""
    _, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "refer")
    await telegram.wait_for_messages(1001, 2)
    confirm = (await converse(telegram, 1001, "Bea Lopez", "bea@example.com", "Call after 5 & ask for Bea"))[2]
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    return alert


async def test_a_segment_without_a_script_of_its_own_gets_the_default(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    alert = await refer_bea(telegram, slack)
    await slack.click(SAM, alert, "referral_claim")
    script = await script_of(slack, SAM)
    assert script.startswith(":telephone_receiver: *Call script · Bea Lopez*, referred by Ana (customer)\n")
    assert '"Hi Bea, this is (your name) from Acme Coffee. Ana gave us your details' in script  # referred directly
    assert "Ana is a customer of ours: mention them" in script
    assert 'Ana\'s note: "Call after 5 &amp; ask for Bea"' in script
    assert '"Because Ana referred you, you get 15% off your first three deliveries."' in script
    assert script.endswith("*Contact:* bea@example.com · _Referred directly by the customer_")


async def test_the_call_script_button_shows_it_to_whoever_presses_and_changes_nothing(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, program, clock, operator.database):
        alert = await ben_arrives(telegram, slack, operator, "partner")
        assert alert.buttons()[-1]["text"] == "Call script"
        response = await slack.click(MAYA, alert, "referral_script")
    assert response.status == 200
    (modal,) = slack.views(MAYA)
    assert (modal["title"]["text"], modal["close"]["text"], "submit" in modal) == ("Call script", "Close", False)
    script = shown(modal["blocks"])
    assert script.startswith(":telephone_receiver: *Call script · Ben*, referred by Ana (partner)\n")
    assert '"Hi Ben, this is (your name) from Acme Coffee. We work with Ana, who suggested' in script
    assert slack.views(RITA) == slack.views(SAM) == []
    assert operator.rows("SELECT status, assignee FROM referrals") == [{"status": "new", "assignee": None}]
    assert slack.thread(ALERTS, alert.ts) == [] and slack.ephemerals(MAYA) == []


async def test_a_rep_slack_will_not_show_it_to_in_the_channel_gets_it_as_a_direct_message(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await ben_arrives(telegram, slack, operator, "past_customer")
    slack.fail_next("chat.postEphemeral", "user_not_in_channel")  # Rita left the channel right after her claim
    await slack.click(RITA, alert, "referral_claim")
    (direct,) = await slack.wait_for_messages(slack.dm_channel(RITA), 1)
    script = shown(direct.blocks)
    assert script.startswith(":telephone_receiver: *Call script · Ben*, referred by Ana (past customer)\n")
    assert "Ana was a customer of ours and still recommends us" in script
    assert slack.ephemerals(RITA) == [] and operator.count("outbox WHERE status = 'dead'") == 0


@pytest.fixture
def ours(tmp_path: Path) -> Path:
    """The business's own templates folder: its default call script, and nothing else."""
    folder = tmp_path / "our-templates" / "en"
    folder.mkdir(parents=True)
    (folder / "script.mrkdwn").write_text(
        "*Our way* · Hello {{ friend_first_name }}, {{ referrer.first_name }}'s friend ({{ segment }}): "
        "{{ friend_incentive }}.\n",
        encoding="utf-8",
    )
    return folder.parent


async def test_a_business_script_in_templates_dir_is_used_before_the_built_in_ones(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    program: Program,
    clock: FakeClock,
    operator: Operator,
    ours: Path,
) -> None:
    async with team_bot(telegram, slack, program, clock, operator.database, templates_dir=ours):
        alert = await ben_arrives(telegram, slack, operator, "inner_circle")  # the inner circle has a built-in script
        await slack.click(RITA, alert, "referral_claim")
        script = await script_of(slack, RITA)
    assert script == "*Our way* · Hello Ben, Ana's friend (inner_circle): 15% off your first three deliveries."


async def test_check_names_a_script_for_a_segment_that_does_not_exist(ours: Path, tmp_path: Path) -> None:
    misspelt = ours / "en" / "script_inner_circel.mrkdwn"
    misspelt.write_text("Hello {{ friend }}\n", encoding="utf-8")
    status, _, stderr = await run(tmp_path, "check", TEMPLATES_DIR=str(ours))
    assert status == 2
    assert stderr.splitlines()[0] == (
        f"referral-bot check: setting TEMPLATES_DIR: {misspelt}: no segment is called 'inner_circel': name a call"
        " script script_<segment>.mrkdwn, with one of inner_circle, customer, past_customer, partner, prospect"
    )
    with pytest.raises(ConfigError, match="no segment is called 'inner_circel'"):  # and `run` will not start
        load_settings(templates_dir=ours)
