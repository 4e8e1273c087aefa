"""Routing as the people in it see it: a rep who goes away hands their offers on at once, a rep reads their DM card
in their own language, and a forgotten friend's name leaves the DM cards that showed it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from test_routing import MONDAY_10_MADRID, actions, dm_now, offer_to, routed, thread_says

from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, SAM, Operator, eventually, team_bot
from helpers import ask, current, refer_ben, told_privately
from stored_traces import names_left

BACKENDS = ("sqlite", "postgresql")


async def test_forgetting_the_friend_redraws_the_offer_cards_without_their_name(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        alert = await refer_ben(telegram, slack)
        card = await offer_to(slack, RITA)
        assert "Ben was referred by *Ana*" in card.plain()
        ben, before = telegram.user(2001, "Ben"), len(telegram.messages(2001))
        await telegram.send_command(ben, "forget")
        await telegram.press_button(ben, (await telegram.wait_for_messages(2001, before + 1))[before], "forget:yes")
        await slack.wait_for(lambda: "Ben" not in dm_now(slack, RITA, card).plain(), what="Rita's card redrawn")
        assert "referred by *Ana*" in dm_now(slack, RITA, card).plain()
        assert actions(dm_now(slack, RITA, card))[0] == "referral_accept"  # still hers to take
        clock.advance(timedelta(minutes=5))
        sam_card = await offer_to(slack, SAM)  # drawn after the erasure: it never had the name
        assert "referred by *Ana*" in sam_card.plain() and "Ben" not in sam_card.plain()
        await thread_says(slack, alert, "did not accept")
        await eventually(lambda: operator.count("outbox WHERE status IN ('pending', 'sending')") == 0)
        assert names_left(operator, ("Ben",)) == []
        assert operator.count("outbox WHERE payload LIKE '%\"kind\":\"offer\"%' AND status = 'sent'") == 2
        await slack.click(SAM, sam_card, "referral_accept")
        await eventually(lambda: operator.rows("SELECT assignee FROM referrals") == [{"assignee": SAM}])


async def test_a_rep_who_goes_away_hands_their_offers_on_at_once(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database):
        alert = await refer_ben(telegram, slack)
        card = await offer_to(slack, RITA)
        answer = await ask(slack, RITA, "away")
        assert answer.endswith("The referral waiting for you to accept goes to the next rep now.")
        assert "Ben" in (await offer_to(slack, SAM)).plain()  # no time has passed: not the deadline's doing
        assert await thread_says(slack, alert, "is away") == ":palm_tree: <@U0RITA> is away: handed on to <@U0SAM>."
        await slack.wait_for(lambda: "You said you are away" in dm_now(slack, RITA, card).plain(), what="card")
        assert dm_now(slack, RITA, card).text.startswith(
            ":palm_tree: You said you are away, so it was handed on to <@U0SAM>."
        )
        assert actions(dm_now(slack, RITA, card)) == []
        told = len(told_privately(slack, RITA))
        await slack.click(RITA, card, "referral_accept")  # a click that was on its way
        await slack.wait_for(lambda: len(told_privately(slack, RITA)) > told, what="refusal")
        assert told_privately(slack, RITA)[-1] == "You said you are away, so it was handed on to <@U0SAM>."

        assert (await ask(slack, SAM, "away")).startswith(":palm_tree: You are away")
        assert await thread_says(slack, alert, "Nobody could take it") == (
            ":raising_hand: Nobody could take it: <@U0RITA>, <@U0SAM> said they are away. Anyone can claim it now."
        )
        await slack.wait_for(lambda: "referral_claim" in actions(current(slack, alert)), what="Claim back")
        await slack.wait_for(lambda: len(slack.dm(MAYA)) == 1, what="managers told")
        await asyncio.sleep(1.2)  # the router's passes since moved nothing twice
        assert len([m for m in slack.thread(ALERTS, alert.ts) if "is away" in m.text]) == 1
        assert operator.rows("SELECT rep, status, settled_by, next_rep FROM route_offers ORDER BY offered_at") == [
            {"rep": RITA, "status": "handed_on", "settled_by": RITA, "next_rep": SAM},
            {"rep": SAM, "status": "handed_on", "settled_by": SAM, "next_rep": None},
        ]
        assert "<@U0RITA>: 1 assigned · 0 accepted in time · 1 handed on" in await ask(slack, MAYA, "reps")


async def test_the_dm_card_is_all_in_the_reps_language_while_the_channel_card_is_the_teams(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, operator: Operator
) -> None:
    slack.add_user(RITA, "rita", real_name="Rita Rep", locale="fa-IR")
    clock = FakeClock(MONDAY_10_MADRID)
    async with team_bot(telegram, slack, routed(program), clock, operator.database, team_locale="es"):
        # She has never used the bot: the router learns her language when it asks Slack whether she is there.
        alert = await refer_ben(telegram, slack)
        shown = (await offer_to(slack, RITA)).plain()
        assert "*یک معرفی برای شما.*" in shown and "*معرفی جدید* · Ben" in shown
        assert "Nueva" not in shown and "Esperando" not in shown
        labels = [button["text"] for button in (await offer_to(slack, RITA)).buttons()]
        assert labels[:2] == ["می‌پذیرم", "تماس گرفته شد"]
        offered = "Asignada a <@U0RITA>, a la espera de que la acepte."
        await slack.wait_for(lambda: offered in current(slack, alert).plain(), what="the channel's card redrawn")
        channel = current(slack, alert)
        assert "*Nueva recomendación* · Ben" in channel.plain() and "معرفی" not in channel.plain()
        assert channel.buttons()[0]["text"] == "Contactada"  # offered to her: no Claim meanwhile
