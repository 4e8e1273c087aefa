"""Referrals past the velocity limit wait in the managers' review queue: no alert in the channel and no speed-to-lead
timers until a manager approves one (its alert then goes out and the SLA runs from the approval); a rejected one is
closed unseen. The managers hear of a burst once, not once per held referral."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from test_forget import forget_in_chat

from bot.app.wiring import build_engine
from bot.core.clock import FakeClock
from bot.program.rules import Program
from bot.team.alerts import Alerts, Team
from bot.team.review import Reviewed, ReviewQueue
from handlers.slack.channel import SlackChannel
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, SAM, Domain, Operator, settings_for, slack_settings, team_bot
from helpers import as_seen, ask, converse, current, home_text, open_home, review_queue, said, say, start
from stored_traces import names_left

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def strict(program: Program) -> Program:
    """One arrival an hour per referrer; any more are held for review."""
    return program.model_copy(update={"limits": program.limits.model_copy(update={"velocity_per_hour": 1})})


async def arrive(telegram: TelegramEmulator, code: str, user_id: int, name: str) -> None:
    await telegram.open_deep_link(telegram.user(user_id, name), code)
    await telegram.wait_for_messages(user_id, 1)


async def burst(telegram: TelegramEmulator, slack: SlackEmulator) -> SlackMessage:
    """Ben arrives through Ana's link and Rita claims him; then Cal and Dee, past Ana's limit of one an hour, are
    held. Returns Ben's alert."""
    code, _ = await start(telegram, 1001, "Ana")
    await arrive(telegram, code, 2001, "Ben")
    (ben,) = await slack.wait_for_messages(ALERTS, 1)
    await slack.click(RITA, ben, "referral_claim")  # Ben is in hand: any nudge later on would be a held one's
    await arrive(telegram, code, 2002, "Cal")
    await arrive(telegram, code, 2003, "Dee")
    assert "on hold while our team reviews" in await said(telegram, 1001, "Dee just joined")
    await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the burst notice")
    return ben


async def test_a_velocity_burst_reaches_the_managers_once_and_the_team_not_at_all(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, strict, clock, operator.database):
        ben = await burst(telegram, slack)
        assert slack.dm(MAYA)[0].text.startswith(  # one word for the burst, not one per held referral
            ":warning: *Ana* has brought more than 1 referral within an hour. Their new referrals are held for review"
        )
        await open_home(slack, MAYA)
        assert "*Held for review* (2)" in home_text(slack, MAYA)
        assert "• Cal (from Ana) · flagged: velocity · waiting 0 min" in home_text(slack, MAYA)
    clock.advance(timedelta(minutes=20))  # past the claim nudge and the escalation of anything the team had
    async with team_bot(telegram, slack, strict, clock, operator.database):
        await asyncio.sleep(1.5)  # a scheduler pass that must find nothing to nudge
        assert [m.ts for m in slack.messages(ALERTS)] == [ben.ts]  # no alert for Cal or Dee
        assert [m.text.split(" ")[0] for m in slack.thread(ALERTS, ben.ts)] == [":raising_hand:"]  # the claim only
        assert len(slack.dm(MAYA)) == 1  # no escalation
        assert operator.count("sla_timers WHERE kind <> 'contact_nudge'") == 2  # Ben's, cancelled by the claim
        queue = await review_queue(slack, MAYA)
        assert "*Held for review* (2)" in queue.plain()
        line = "*Cal* referred by Ana · Opened the personal link · flagged: velocity · arrived 20 min ago"
        assert line in queue.plain()
        assert [b["text"] for b in queue.buttons()] == ["Approve", "Reject", "Approve", "Reject"]
        assert (await ask(slack, RITA, "review")).startswith("Sorry, `/referrals review` is for managers.")


async def test_approved_it_reaches_the_team_with_the_sla_from_then_and_rejected_it_never_does(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, strict, clock, operator.database):
        await burst(telegram, slack)
        clock.advance(timedelta(minutes=20))
        queue = await review_queue(slack, MAYA)
        await slack.click(MAYA, queue, "referral_approve_0")  # Cal
        cal = (await slack.wait_for_messages(ALERTS, 2))[1]
        assert "*New referral* · Cal was referred by *Ana*" in cal.plain()
        await slack.wait_for(lambda: "You approved Cal" in as_seen(slack, queue).plain(), what="the list redrawn")
        assert "*Held for review* (1)" in as_seen(slack, queue).plain() and "*Cal*" not in as_seen(slack, queue).plain()
        await slack.wait_for(lambda: "Rewards approved by" in current(slack, cal).plain(), what="the card")
        await slack.click(MAYA, as_seen(slack, queue), "referral_reject_0")  # Dee
        await slack.wait_for(lambda: "You rejected Dee" in as_seen(slack, queue).plain(), what="the list redrawn")
        assert "nothing is waiting" in as_seen(slack, queue).plain()
        assert "finished its review" in await said(telegram, 2003, "finished its review")
        rows = operator.rows("SELECT status, review FROM referrals ORDER BY friend_telegram_id")
        assert rows == [
            {"status": "claimed", "review": None},
            {"status": "new", "review": "approved"},
            {"status": "rejected", "review": "rejected"},
        ]
        assert operator.count("rewards WHERE status = 'held'") == 0
        clock.advance(timedelta(minutes=5, seconds=10))  # the SLA runs from the approval, not from Cal's arrival
        audit, nudge = await slack.wait_for_messages(ALERTS, 2, thread_ts=cal.ts)
        assert audit.text == f":white_check_mark: <@{MAYA}> approved the held rewards (2): they are released"
        assert nudge.text.startswith("<!channel> :alarm_clock: Cal has been waiting 5 min")
        await asyncio.sleep(0.5)
        assert len(slack.messages(ALERTS)) == 2  # Dee never reached the channel


async def test_a_direct_referral_past_the_limit_is_held_too(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, strict, clock, operator.database):
        code, welcome = await start(telegram, 1001, "Ana")
        await arrive(telegram, code, 2001, "Ben")
        await slack.wait_for_messages(ALERTS, 1)
        await telegram.press_button(telegram.user(1001, "Ana"), welcome, "refer")
        await said(telegram, 1001, "friend's name")
        _, ask_note = await converse(telegram, 1001, "Bea", "bea@example.com")
        await telegram.press_button(telegram.user(1001, "Ana"), ask_note, "d:skip")
        await said(telegram, 1001, "Did Bea agree")
        confirm = telegram.messages(1001)[-1]
        await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
        assert "on hold while our team reviews" in await said(telegram, 1001, "We will contact Bea soon")
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the burst notice")
        queue = await review_queue(slack, MAYA)
        assert "*Bea* referred by Ana · Referred directly by the customer · flagged: velocity" in queue.plain()
        assert len(slack.messages(ALERTS)) == 1
        assert operator.rows("SELECT status FROM referrals WHERE source = 'direct'") == [{"status": "held"}]
        assert operator.count("sla_timers") == 2  # Ben's only
        await telegram.press_button(telegram.user(1001, "Ana"), welcome, "mine")
        assert "• Bea: being reviewed by our team" in await said(telegram, 1001, "Your referrals")


async def test_what_a_held_friend_writes_or_shares_waits_for_the_approval(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, operator: Operator
) -> None:
    async with team_bot(telegram, slack, strict, FakeClock(MONDAY_10_MADRID), operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        await arrive(telegram, code, 2001, "Ben")
        await arrive(telegram, code, 2002, "Cal")
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the burst notice")
        reply = await say(telegram, 2002, "Cal", "When can we talk?")
        assert reply.text.startswith("Welcome back, Cal!")  # the menu: no team has his referral yet to read it
        await telegram.share_contact(telegram.user(2002, "Cal"), phone_number="34600111222")
        await said(telegram, 2002, "Our team will be in touch soon")
        await asyncio.sleep(0.3)
        assert len(slack.all_messages()) == 2  # Ben's alert and the burst notice: nothing waits on a card not out
        queue = await review_queue(slack, MAYA)
        await slack.click(MAYA, queue, "referral_approve_0")
        card = (await slack.wait_for_messages(ALERTS, 2))[1]
        assert "*Contact:* +34600111222 (agreed to be contacted, confirmed by Cal on " in card.plain()
        assert operator.count("outbox WHERE status = 'dead'") == 0


async def test_someone_no_longer_a_manager_cannot_decide_from_a_list_they_opened_before(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, strict, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        await arrive(telegram, code, 2001, "Ben")
        await arrive(telegram, code, 2002, "Cal")
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the burst notice")
        queue = await review_queue(slack, MAYA)
    demoted = settings_for(telegram, operator.database, **{**slack_settings(slack), "slack_manager_ids": SAM})
    async with await build_engine(demoted, strict, clock) as running:
        slack.bot_endpoint = f"http://127.0.0.1:{running.part(SlackChannel).port}/slack/events"
        await slack.click(MAYA, queue, "referral_approve_0")
        refused = "Only managers can approve or reject held rewards."
        await slack.wait_for(lambda: refused in [m.text for m in slack.ephemerals(MAYA)], what="the refusal")
        assert operator.rows("SELECT status FROM referrals WHERE friend_telegram_id = 2002") == [{"status": "held"}]
        assert len(slack.messages(ALERTS)) == 1


async def test_a_referral_flagged_before_the_queue_existed_keeps_its_card_and_only_its_rewards_are_decided(
    domain: Domain,
) -> None:
    """The previous version posted a flagged referral's alert and started its timers at once; Approve on that card
    releases the held rewards and redraws the card, without a second alert or a second set of timers."""
    await domain.start(1001, "Ana")
    code = domain.operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"]
    await domain.start(2001, "Ben", code)
    domain.operator.execute("UPDATE referrals SET flagged = 1, flag_reason = 'velocity'")
    domain.operator.execute("UPDATE rewards SET status = 'held'")
    (referral,) = domain.operator.rows("SELECT id FROM referrals")
    queue = ReviewQueue(domain.services.units, Alerts(Team(ALERTS, frozenset({MAYA}))))

    assert await queue.decide(domain.inbound(), referral["id"], "approve", MAYA) == Reviewed()

    kinds = [row["kind"] for row in domain.outbox("slack", ALERTS)]
    assert kinds == ["alert", "alert_update", "thread"]  # the one alert, redrawn, and the audit under it
    assert domain.operator.count("sla_timers") == 2
    assert domain.operator.rows("SELECT status, review FROM referrals") == [{"status": "new", "review": "approved"}]
    assert domain.operator.count("rewards WHERE status = 'held'") == 0


async def test_forgetting_the_referrer_takes_their_name_out_of_the_burst_notice(
    telegram: TelegramEmulator, slack: SlackEmulator, strict: Program, operator: Operator
) -> None:
    async with team_bot(telegram, slack, strict, FakeClock(MONDAY_10_MADRID), operator.database):
        code, _ = await start(telegram, 1001, "Jo")  # too short a name for any search of the text to find
        await arrive(telegram, code, 2001, "Ben")
        await arrive(telegram, code, 2002, "Cal")
        await said(telegram, 1001, "Cal just joined")  # Jo's thank-yous are in before the /forget
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="the burst notice")
        assert "*Jo*" in slack.dm(MAYA)[0].text
        await forget_in_chat(telegram, 1001, "Jo")
        await slack.wait_for(lambda: "Jo" not in slack.dm(MAYA)[0].text, what="the burst notice redacted")
    assert names_left(operator, ("Jo",)) == []
