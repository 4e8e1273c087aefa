"""The sales team in Slack: the alert, claim to convert, refusals, talking to the friend."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, SAM, Operator, eventually
from helpers import call_scripts, current, refer_ben, start, told_privately

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def test_an_arrival_raises_an_alert_with_everything_a_rep_needs(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    alert = await refer_ben(telegram, slack)
    text = alert.plain()
    assert "Ben was referred by *Ana*" in text
    assert "Opened the personal link · customer · 0 past conversions" in text
    assert "through the bot only" in text
    assert "Great fit: Offices of 5 to 50 people" in text
    assert "Waiting to be claimed" in text
    labels = [b["text"] for b in alert.buttons()]
    assert labels == ["Claim", "Contacted", "Converted", "Lost", "Flag", "Message friend", "Call script"]


async def test_claiming_updates_the_alert_in_place_and_audits_in_the_thread(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    response = await slack.click(RITA, alert, "referral_claim")
    assert response.status == 200
    await slack.wait_for(lambda: current(slack, alert).edits >= 1, what="alert updated")
    assert f"Claimed* by <@{RITA}>" in current(slack, alert).plain()
    (audit,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    assert audit.text.startswith(f":raising_hand: <@{RITA}> claimed it · 0 min after arrival")
    assert operator.rows("SELECT status, assignee FROM referrals") == [{"status": "claimed", "assignee": RITA}]
    assert len(slack.messages(ALERTS)) == 1  # updated, never reposted


async def test_a_second_claim_and_a_premature_conversion_are_explained_privately(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(SAM, alert, "referral_contacted")
    await slack.wait_for(lambda: len(told_privately(slack, SAM)) == 1, what="ephemeral")
    assert told_privately(slack, SAM) == ["Claim this referral first."]
    await slack.click(RITA, alert, "referral_claim")
    await slack.click(SAM, alert, "referral_claim")  # the same stale message, clicked by another rep
    await slack.wait_for(lambda: len(told_privately(slack, SAM)) == 2, what="second ephemeral")
    assert told_privately(slack, SAM)[1] == f"<@{RITA}> has already claimed this referral."
    await slack.click(RITA, alert, "referral_claim")  # a double click
    await slack.wait_for(lambda: len(told_privately(slack, RITA)) == 1, what="double click explained")
    assert told_privately(slack, RITA) == ["You have already claimed this referral."]
    await slack.wait_for(lambda: len(call_scripts(slack, RITA)) == 1, what="the claimer's call script")
    assert call_scripts(slack, SAM) == []  # a refused claim shows no script
    assert operator.rows("SELECT assignee FROM referrals") == [{"assignee": RITA}]
    await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    assert len(slack.thread(ALERTS, alert.ts)) == 1  # one audit line: the only change


async def test_converted_records_the_deal_and_thanks_both_sides(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_claim")
    await slack.click(RITA, alert, "referral_contacted")
    await slack.click(RITA, alert, "referral_converted")
    (modal,) = slack.views(RITA)
    assert modal["title"]["text"] == "Mark as converted"
    refused = await slack.submit_view(RITA, modal["id"], {"answer": {"value": "lots"}})
    assert refused.json == {
        "response_action": "errors",
        "errors": {"answer": "Please enter an amount such as 1200, 1,200.50 or 1.200,50."},
    }
    assert operator.rows("SELECT status FROM referrals") == [{"status": "contacted"}]
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "$1,200"}})
    await eventually(lambda: operator.rows("SELECT status FROM referrals") == [{"status": "converted"}])
    assert operator.rows("SELECT deal_value FROM referrals") == [{"deal_value": "1200.00"}]
    ana_thanks = (await telegram.wait_for_messages(1001, 3))[2]
    assert ana_thanks.text.startswith("🎉 Great news, Ana! Ben has become a customer of Acme Coffee")
    assert "Your reward: a free 1 kg bag of beans" in ana_thanks.text
    ben_thanks = (await telegram.wait_for_messages(2001, 2))[1]
    assert "Your welcome gift: 15% off your first three deliveries" in ben_thanks.text
    assert operator.rows("SELECT DISTINCT status FROM rewards") == [{"status": "issued"}]
    converted = "Converted* · deal value 1,200.00 EUR"
    await slack.wait_for(lambda: converted in current(slack, alert).plain(), what="converted")
    assert current(slack, alert).buttons() == []  # a closed referral has no buttons left


async def test_lost_asks_why_and_flag_revokes_rewards(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_lost")
    (modal,) = slack.views(RITA)
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "Went with a competitor <cheaper>"}})
    await eventually(lambda: operator.rows("SELECT status FROM referrals") == [{"status": "lost"}])
    assert operator.rows("SELECT lost_reason FROM referrals") == [{"lost_reason": "Went with a competitor <cheaper>"}]
    (audit,) = await slack.wait_for_messages(ALERTS, 1, thread_ts=alert.ts)
    assert "marked it lost: Went with a competitor &lt;cheaper&gt;" in audit.text
    # A second referral is flagged as fraud: rejected, and its rewards revoked.
    code = operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"]
    await telegram.open_deep_link(telegram.user(2002, "Cal"), code)
    second = (await slack.wait_for_messages(ALERTS, 2))[1]
    await slack.click(MAYA, second, "referral_flag")
    await eventually(lambda: operator.count("referrals WHERE status = 'rejected'") == 1)
    assert operator.rows(
        "SELECT DISTINCT r.status FROM rewards r JOIN referrals f ON f.id = r.referral_id WHERE f.status = 'rejected'"
    ) == [{"status": "revoked"}]


async def test_a_rep_is_told_why_they_cannot_flag_another_reps_referral(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_claim")
    await slack.wait_for(lambda: "*Claimed* by" in current(slack, alert).plain(), what="claimed")
    await slack.click(SAM, alert, "referral_flag")
    await slack.wait_for(lambda: len(slack.ephemerals(SAM)) == 1, what="refusal")
    assert slack.ephemerals(SAM)[0].text == (
        f"<@{RITA}> has claimed this referral, so only they or a manager can flag it."
    )
    assert operator.rows("SELECT status, assignee FROM referrals") == [{"status": "claimed", "assignee": RITA}]
    assert operator.rows("SELECT DISTINCT status FROM rewards") != [{"status": "revoked"}]


async def test_the_team_and_the_friend_talk_through_the_bot(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    alert = await refer_ben(telegram, slack)
    await slack.click(RITA, alert, "referral_message")
    (modal,) = slack.views(RITA)
    assert modal["title"]["text"] == "Message the friend"
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": "Hi Ben! When can we call? <3"}})
    note = (await telegram.wait_for_messages(2001, 2))[1]
    assert (
        note.text
        == "A message from the Acme Coffee team:\n\nHi Ben! When can we call? <3\n\nJust reply here to answer."
    )
    await telegram.send_text(telegram.user(2001, "Ben"), "Tomorrow at 10 works & thanks")
    ack = (await telegram.wait_for_messages(2001, 3))[2]
    assert ack.text == "Thanks! I have passed your message on to the team."
    replies = await slack.wait_for_messages(ALERTS, 2, thread_ts=alert.ts)
    assert (
        replies[0].text == f":outbox_tray: <@{RITA}> wrote to the friend in Telegram: Hi Ben! When can we call? &lt;3"
    )
    assert replies[1].text == ":speech_balloon: *Ben* replied in Telegram: Tomorrow at 10 works &amp; thanks"


async def test_a_direct_referral_alerts_with_the_contact_and_note(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    _, welcome = await start(telegram, 1001, "Ana")
    ana = telegram.user(1001, "Ana")
    await telegram.press_button(ana, welcome, "refer")
    for count, text in ((3, "Bea <Boss>"), (4, "bea@example.com"), (5, "Call after 5 & ask for Bea")):
        await telegram.wait_for_messages(1001, count - 1)
        await telegram.send_text(ana, text)
    confirm = (await telegram.wait_for_messages(1001, 5))[4]
    await telegram.press_button(ana, confirm, "d:yes")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    text = alert.plain()
    assert "Bea &lt;Boss&gt; was referred by *Ana*" in text
    assert "Referred directly by the customer" in text
    assert "*Contact:* bea@example.com (agreed to be contacted, on Ana's word: Bea &lt;Boss&gt; has not" in text
    assert "*Note from Ana:* Call after 5 &amp; ask for Bea" in text
    assert "Message friend" not in [b["text"] for b in alert.buttons()]  # no Telegram chat to write into


async def test_slack_rate_limits_are_waited_out_and_the_alert_still_arrives(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, clock: FakeClock
) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=20)
    code, _ = await start(telegram, 1001, "Ana")
    await telegram.open_deep_link(telegram.user(2001, "Ben"), code)
    await eventually(lambda: operator.count("outbox WHERE platform = 'slack' AND last_error IS NOT NULL") == 1)
    (row,) = operator.rows("SELECT status, next_attempt_at FROM outbox WHERE platform = 'slack'")
    assert row["status"] == "pending"
    assert row["next_attempt_at"] == (clock.now() + timedelta(seconds=20)).isoformat(timespec="microseconds")
    clock.advance(timedelta(seconds=21))
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert "Ben was referred by *Ana*" in alert.plain()
