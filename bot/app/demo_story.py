"""The demo's story, act by act: Ana shares, Ben arrives, the team follows up, everyone is thanked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from rich.text import Text

from bot.app.demo_render import NEUTRAL, chat_panel, slack_text, telegram_parts
from bot.app.demo_transcript import (
    ALERTS,
    CURRENCY,
    MAYA,
    NAMES,
    RITA,
    bot_says,
    console,
    narrate,
    person_presses,
    person_says,
    slack_button,
    slack_form,
    slack_says,
)
from bot.core.clock import FakeClock
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_entities import message_text
from sandbox.telegram_people import FakeUser

ANA, BEN = 1001, 2002
DEAL = Decimal(1200)  # in euros


async def tell_story(tg: TelegramEmulator, slack: SlackEmulator, clock: FakeClock) -> None:
    ana, ben = tg.user(ANA, "Ana", language_code="en"), tg.user(BEN, "Ben", language_code="en")
    card = await ana_shares(tg, ana)
    alert = await ben_arrives(tg, slack, ben, card)
    await team_follows_up(slack, clock, alert)
    await rita_writes_to_ben(tg, slack, ben, alert)
    await ben_converts(tg, slack, alert)
    narrate("Maya, the sales manager, checks how the program is doing.")
    person_says("Maya", "/referrals stats 7d")
    await slack.slash_command(MAYA, "/referrals", "stats 7d", channel_id=ALERTS)
    await slack.wait_for(lambda: len(slack.responses) == 1, what="the stats")
    stats = slack_text(slack.responses[0]["text"], NAMES)
    console.print(chat_panel([stats], "Slack · only visible to Maya", "blue"))


async def ana_shares(tg: TelegramEmulator, ana: FakeUser) -> tuple[str, str]:
    """Ana's invite card: its button's label and link."""
    narrate("Ana, a happy customer, opens the bot in Telegram.")
    person_says("Ana", "/start")
    await tg.send_command(ana, "start")
    (welcome,) = await tg.wait_for_messages(ANA, 1)
    bot_says("Ana", welcome)
    narrate("Ana invites her friend Ben: she sends him an invite card in their chat.")
    person_presses("Ana", (welcome.buttons()[0]["text"], NEUTRAL), "and picks her chat with Ben")
    _, query_id = await tg.inline_query(ana, "")
    (card,) = await tg.wait_for_inline_answer(query_id)
    await tg.choose_inline_result(ana, card["id"])
    content = card["input_message_content"]
    text, entities = message_text(content["message_text"], content.get("parse_mode"), content.get("entities"))
    button = card["reply_markup"]["inline_keyboard"][0][0]
    parts = [*telegram_parts(text, entities, card["reply_markup"]), Text(f"(the button opens {button['url']})", "dim")]
    console.print(chat_panel(parts, "Telegram · Ana → Ben (invite card)", "yellow"))
    return str(button["text"]), str(button["url"])


async def ben_arrives(tg: TelegramEmulator, slack: SlackEmulator, ben: FakeUser, card: tuple[str, str]) -> SlackMessage:
    narrate("Ben taps the button on the card, which opens the bot through Ana's link.")
    button, url = card
    payload = tg.deep_link_payload(url)
    assert payload is not None
    person_presses("Ben", (button, NEUTRAL), f"and Telegram sends the bot /start {payload}")
    await tg.open_deep_link(ben, payload)
    (welcome,) = await tg.wait_for_messages(BEN, 1)
    bot_says("Ben", welcome)
    narrate("Ana is thanked the moment Ben arrives, and the sales team is alerted in Slack.")
    bot_says("Ana", (await tg.wait_for_messages(ANA, 2))[1])
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    slack_says("#referrals", alert)
    narrate("Ben shares his phone number so the team can call him. The team sees it in the alert's thread.")
    person_presses("Ben", ((welcome.reply_markup or {})["keyboard"][0][0]["text"], NEUTRAL))
    await tg.share_contact(ben, phone_number="+34600123456")
    bot_says("Ben", (await tg.wait_for_messages(BEN, 2))[1])
    await show_thread_reply(slack, alert, 1)
    return alert


async def team_follows_up(slack: SlackEmulator, clock: FakeClock, alert: SlackMessage) -> None:
    narrate(
        "Five minutes pass and nobody claims it. The speed-to-lead SLA (how fast a rep must claim a new referral:"
        " 5 minutes here) has run out, so the bot nudges the channel."
    )
    clock.advance(timedelta(minutes=5))
    await show_thread_reply(slack, alert, 2)
    narrate("Rita claims it, calls Ben, and marks the referral contacted.")
    clock.advance(timedelta(minutes=1))
    person_presses("Rita", slack_button(alert, "referral_claim"))
    await slack.click(RITA, alert, "referral_claim")
    await show_thread_reply(slack, alert, 3)
    narrate(
        "Only Rita sees her call script: what to say to Ben, in the words for Ana's segment. The alert's Call script"
        " button opens it again, for anyone."
    )
    await slack.wait_for(lambda: bool(slack.ephemerals(RITA)), what="Rita's call script")
    slack_says("#referrals, only visible to Rita", slack.ephemerals(RITA)[0])
    clock.advance(timedelta(minutes=9))
    person_presses("Rita", slack_button(alert, "referral_contacted"), "after her call with Ben")
    await slack.click(RITA, alert, "referral_contacted")
    await show_thread_reply(slack, alert, 4)


async def rita_writes_to_ben(tg: TelegramEmulator, slack: SlackEmulator, ben: FakeUser, alert: SlackMessage) -> None:
    narrate("Rita sends Ben the offer from Slack; it reaches him in Telegram, and his answer comes back.")
    person_presses("Rita", slack_button(alert, "referral_message"))
    await slack.click(RITA, alert, "referral_message")
    note = "Hi Ben, Rita here! Your trial box ships Monday."
    slack_form("Rita", slack.views(RITA)[-1], note)
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": note}})
    bot_says("Ben", (await tg.wait_for_messages(BEN, 3))[2])
    person_says("Ben", "Perfect, thank you!")
    await tg.send_text(ben, "Perfect, thank you!")
    await show_thread_reply(slack, alert, 6)


async def ben_converts(tg: TelegramEmulator, slack: SlackEmulator, alert: SlackMessage) -> None:
    narrate(
        f"Ben signs up for a year of office coffee, a {DEAL:,} {CURRENCY} deal. Rita marks the referral converted"
        " and enters the deal value."
    )
    person_presses("Rita", slack_button(alert, "referral_converted"))
    await slack.click(RITA, alert, "referral_converted")
    slack_form("Rita", slack.views(RITA)[-1], f"€{DEAL:,}")
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": f"€{DEAL:,}"}})
    narrate("Both are told at once: Ana earned her reward, and Ben's welcome gift is his.")
    bot_says("Ana", (await tg.wait_for_messages(ANA, 3))[2])
    bot_says("Ben", (await tg.wait_for_messages(BEN, 5))[4])
    await slack.wait_for(lambda: "*Converted*" in slack.messages(ALERTS)[0].plain(), what="the alert updated")
    slack_says("#referrals (the alert, updated in place)", slack.messages(ALERTS)[0])


async def show_thread_reply(slack: SlackEmulator, alert: SlackMessage, number: int) -> None:
    """The alert's thread is the referral's story: the reply with this number, once it is there."""
    thread = await slack.wait_for_messages(ALERTS, number, thread_ts=alert.ts)
    slack_says("#referrals, in the alert's thread", thread[number - 1])
