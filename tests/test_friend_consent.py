"""The friend's own consent: a friend a customer referred directly confirms it, or says no, when they first reach the
bot; until then the team's alert says the consent is the referrer's word."""

from __future__ import annotations

import pytest

from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, RITA, Operator, eventually
from helpers import converse, current, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each
FIRST_MONDAY = "2026-01-05 09:00 UTC"  # the test clock's time, as the team reads it


async def named_friend_arrives(
    telegram: TelegramEmulator, slack: SlackEmulator, language: str
) -> tuple[SlackMessage, SentMessage]:
    """Ana refers Bea by her @username, with a note; Bea starts the bot. The alert, and the question Bea gets."""
    _, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "refer")
    await telegram.wait_for_messages(1001, 2)
    _, _, confirm = await converse(telegram, 1001, "Bea", "@bea_brew", "Loves espresso")
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
    (alert,) = await slack.wait_for_messages(ALERTS, 1)
    assert "on Ana's word: Bea has not confirmed it yet" in alert.plain()
    await telegram.send_command(telegram.user(2001, "Bea", username="bea_brew", language_code=language), "start")
    _, question = await telegram.wait_for_messages(2001, 2)
    return alert, question


QUESTION_AND_THANKS = {
    "en": (
        "Ana gave us your contact (@bea_brew) and told us you would be happy to hear from our team about Acme Coffee.",
        ["✅ Yes, contact me", "🚫 No, I never agreed"],
        "Thank you for confirming! Our team will be in touch soon about your welcome gift.",
    ),
    "es": (
        "Ana nos dio tu contacto (@bea_brew) y nos dijo que te gustaría que nuestro equipo te hablara de Acme Coffee.",
        ["✅ Sí, contactadme", "🚫 No, nunca acepté"],
        "¡Gracias por confirmarlo! Nuestro equipo te escribirá pronto para darte tu regalo de bienvenida.",
    ),
    "fa": (
        "\u200fAna راه تماس شما (@bea_brew) را به ما داد و گفت خوشحال می‌شوید تیم ما دربارهٔ Acme Coffee با شما"
        " تماس بگیرد.",
        ["✅ بله، با من تماس بگیرید", "🚫 نه، موافقت نکرده‌ام"],
        "\u200fممنون که تأیید کردید! تیم ما به‌زودی دربارهٔ هدیهٔ خوش‌آمدگویی‌تان با شما تماس می‌گیرد.",
    ),
}


@pytest.mark.parametrize("language", ["en", "es", "fa"])
async def test_the_friend_confirms_and_the_alert_says_so_with_the_time(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, language: str
) -> None:
    alert, question = await named_friend_arrives(telegram, slack, language)
    asked, labels, thanks = QUESTION_AND_THANKS[language]
    assert question.text.startswith(asked)
    assert [b["text"] for b in question.buttons()] == labels
    await telegram.press_button(telegram.user(2001, "Bea"), question, "fc:yes")
    assert (await telegram.wait_for_messages(2001, 3))[2].text == thanks
    await eventually(lambda: f"confirmed by Bea on {FIRST_MONDAY}" in current(slack, alert).plain())
    assert "*Contact:* @bea_brew (agreed to be contacted, confirmed by Bea on" in current(slack, alert).plain()
    thread = await slack.wait_for_messages(ALERTS, 2, thread_ts=alert.ts)
    assert ":white_check_mark: Bea confirmed in Telegram that they agreed to be contacted." in [m.text for m in thread]
    await telegram.press_button(telegram.user(2001, "Bea"), question, "fc:no")  # a second answer changes nothing
    assert "/start" in (await telegram.wait_for_messages(2001, 4))[3].text  # "That button no longer works"
    rows = operator.rows("SELECT status, friend_contact, friend_confirmed_at, friend_declined_at FROM referrals")
    assert rows[0]["status"] == "new" and rows[0]["friend_contact"] == "@bea_brew"
    assert rows[0]["friend_confirmed_at"] is not None and rows[0]["friend_declined_at"] is None


async def test_a_friend_who_never_agreed_is_not_contacted_and_their_details_are_erased(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    alert, question = await named_friend_arrives(telegram, slack, "en")
    await slack.click(RITA, alert, "referral_claim")
    await eventually(lambda: operator.count("referrals WHERE status = 'claimed'") == 1)
    await telegram.press_button(telegram.user(2001, "Bea"), question, "fc:no")
    declined = (await telegram.wait_for_messages(2001, 3))[2]
    assert declined.text.startswith("Understood, and sorry for the bother. Nobody from our team will contact you")
    expected = f"*Contact:* none: Bea said on {FIRST_MONDAY} that they never agreed to be contacted."
    await eventually(lambda: expected in current(slack, alert).plain())
    card = current(slack, alert)
    assert "Loves espresso" not in card.plain() and card.buttons() == []  # closed: no note, nothing to click
    await slack.wait_for(
        lambda: any(m.text.startswith(":no_entry: Bea said") for m in slack.thread(ALERTS, alert.ts)),
        what="the team told in the thread",
    )
    line = next(m.text for m in slack.thread(ALERTS, alert.ts) if m.text.startswith(":no_entry:"))
    assert line == (
        ":no_entry: Bea said in Telegram that they never agreed to be contacted. The referral is closed and its rewards"
        " revoked; the contact and note the referrer gave are erased. Do not contact them."
    )
    (referral,) = operator.rows("SELECT status, friend_contact, friend_note, friend_declined_at FROM referrals")
    assert referral["status"] == "rejected" and referral["friend_declined_at"] is not None
    assert (referral["friend_contact"], referral["friend_note"]) == (None, None)
    assert {r["status"] for r in operator.rows("SELECT status FROM rewards")} == {"revoked"}
    assert operator.rows("SELECT asks_opted_out FROM customers WHERE telegram_id = 2001")[0]["asks_opted_out"] in (
        1,
        True,
    )
    assert operator.count("sla_timers WHERE status = 'pending'") == 0
