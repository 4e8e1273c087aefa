"""The demo's story, act by act: Ana shares, Ben arrives, the team follows up, everyone is thanked."""

from __future__ import annotations

import re
from datetime import timedelta

from rich.panel import Panel

from bot.clock import FakeClock
from bot.demo import ALERTS, MAYA, RITA, bot_says, console, narrate, person_says, readable, slack_says
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser

ANA, BEN = 1001, 2002


async def tell_story(tg: TelegramEmulator, slack: SlackEmulator, clock: FakeClock) -> None:
    ana, ben = tg.user(ANA, "Ana", language_code="en"), tg.user(BEN, "Ben", language_code="en")
    url = await ana_shares(tg, ana)
    alert = await ben_arrives(tg, slack, ben, url)
    await team_follows_up(tg, slack, clock, ben, alert)
    narrate("Maya, the sales manager, checks how the program is doing.")
    person_says("Maya", "/referrals stats 7d")
    await slack.slash_command(MAYA, "/referrals", "stats 7d", channel_id=ALERTS)
    await slack.wait_for(lambda: len(slack.responses) == 1, what="the stats")
    console.print(
        Panel(
            readable(slack.responses[0]["text"]),
            title="Slack · only visible to Maya",
            title_align="left",
            border_style="blue",
            width=92,
        )
    )


async def ana_shares(tg: TelegramEmulator, ana: FakeUser) -> str:
    narrate("Ana, a happy customer, opens the bot.")
    person_says("Ana", "/start")
    await tg.send_command(ana, "start")
    (welcome,) = await tg.wait_for_messages(ANA, 1)
    bot_says("Ana", welcome)
    narrate("Ana taps “Share in a chat”, picks her chat with Ben, and sends her invite card.")
    _, query_id = await tg.inline_query(ana, "")
    (card,) = await tg.wait_for_inline_answer(query_id)
    await tg.choose_inline_result(ana, card["id"])
    button = card["reply_markup"]["inline_keyboard"][0][0]
    text = re.sub(r"<[^>]+>", "", card["input_message_content"]["message_text"])
    console.print(
        Panel(
            f"{text}\n\n[reverse] {button['text']} [/] → {button['url']}",
            title="Telegram · Ana → Ben (invite card)",
            title_align="left",
            border_style="yellow",
            width=92,
        )
    )
    return str(button["url"])


async def ben_arrives(tg: TelegramEmulator, slack: SlackEmulator, ben: FakeUser, url: str) -> SlackMessage:
    narrate("Ben taps the button on the card, which opens the bot through Ana's link.")
    payload = tg.deep_link_payload(url)
    assert payload is not None
    person_says("Ben", f"/start {payload}")
    await tg.open_deep_link(ben, payload)
    bot_says("Ben", (await tg.wait_for_messages(BEN, 1))[0])
    narrate("Ana is thanked the moment Ben arrives, and the sales team is alerted.")
    bot_says("Ana", (await tg.wait_for_messages(ANA, 2))[1])
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    slack_says("#referrals", alert)
    narrate("Ben shares his phone number so the team can call him.")
    person_says("Ben", "📞 (shares his contact)")
    await tg.share_contact(ben, phone_number="+34600123456")
    bot_says("Ben", (await tg.wait_for_messages(BEN, 2))[1])
    return alert


async def team_follows_up(
    tg: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, ben: FakeUser, alert: SlackMessage
) -> None:
    narrate("Five minutes pass and nobody has claimed the referral: the bot nudges the channel.")
    clock.advance(timedelta(minutes=5))
    thread = await slack.wait_for_messages(ALERTS, 2, thread_ts=alert.ts)
    for reply in thread:
        slack_says("#referrals thread", reply)
    narrate("Rita claims it, calls Ben, and marks the referral contacted.")
    clock.advance(timedelta(minutes=1))
    await slack.click(RITA, alert, "referral_claim")
    clock.advance(timedelta(minutes=9))
    await slack.click(RITA, alert, "referral_contacted")
    thread = await slack.wait_for_messages(ALERTS, 4, thread_ts=alert.ts)
    for reply in thread[2:]:
        slack_says("#referrals thread", reply)
    narrate("Rita sends Ben the offer from Slack; it reaches him in Telegram, and his answer comes back.")
    await slack.click(RITA, alert, "referral_message")
    await slack.submit_view(
        RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": "Hi Ben, Rita here! Your trial box ships Monday."}}
    )
    bot_says("Ben", (await tg.wait_for_messages(BEN, 3))[2])
    person_says("Ben", "Perfect, thank you!")
    await tg.send_text(ben, "Perfect, thank you!")
    thread = await slack.wait_for_messages(ALERTS, 6, thread_ts=alert.ts)
    slack_says("#referrals thread", thread[-1])
    narrate("Ben signs up. Rita marks the referral converted, with the deal value.")
    await slack.click(RITA, alert, "referral_converted")
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": "1,200"}})
    bot_says("Ana", (await tg.wait_for_messages(ANA, 3))[2])
    bot_says("Ben", (await tg.wait_for_messages(BEN, 5))[4])
    await slack.wait_for(lambda: "*Converted*" in slack.messages(ALERTS)[0].plain(), what="the alert updated")
    slack_says("#referrals (the alert, updated in place)", slack.messages(ALERTS)[0])
