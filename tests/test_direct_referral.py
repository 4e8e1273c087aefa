"""Refer a friend directly: each answer checked, consent required, nothing half stored."""

from __future__ import annotations

import pytest

from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import FakeUser, SentMessage

from conftest import ALERTS, Operator
from helpers import converse, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each


async def begin(telegram: TelegramEmulator) -> SentMessage:
    _, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "refer")
    return (await telegram.wait_for_messages(1001, 2))[1]


async def test_a_direct_referral_is_stored_after_consent(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    ask_name = await begin(telegram)
    assert ask_name.text.startswith("Great! What is your friend's name?")
    ask_contact, ask_note = await converse(telegram, 1001, "Bea <b>Smith</b> & Co", "+1 (555) 123-4567")
    assert "How can we reach Bea <b>Smith</b> & Co?" in ask_contact.text  # shown as typed, escaped
    assert ask_note.button("Skip")["callback_data"] == "d:skip"
    (confirm,) = await converse(telegram, 1001, "Loves espresso; call after 5pm")
    assert "Contact: +15551234567" in confirm.text and "Note: Loves espresso" in confirm.text
    assert operator.count("referrals") == 0  # nothing until the friend's consent is confirmed
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
    done = (await telegram.wait_for_messages(1001, 6))[5]
    assert done.text.startswith("Thank you! We will contact Bea <b>Smith</b> & Co soon.")
    (row,) = operator.rows("SELECT * FROM referrals")
    assert (row["source"], row["friend_name"], row["friend_contact"], row["friend_contact_kind"]) == (
        "direct",
        "Bea <b>Smith</b> & Co",
        "+15551234567",
        "phone",
    )
    assert row["friend_note"] == "Loves espresso; call after 5pm" and row["friend_consent_at"] is not None
    assert operator.rows("SELECT role, status FROM rewards") == [{"role": "referrer", "status": "pending"}]
    assert operator.count("drafts") == 0


async def test_bad_answers_get_a_clear_message_and_are_asked_again(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await begin(telegram)
    too_long, hidden, persian = await converse(telegram, 1001, "N" * 65, "Ben\u202eevil", "علی\u200cرضا")
    assert "up to 64 characters" in too_long.text
    assert "does not look like a name" in hidden.text
    assert "How can we reach علی\u200cرضا?" in persian.text
    bad_contact, bad_mail, good = await converse(telegram, 1001, "call me maybe", "bea@", "@bea_smith")
    assert "could not read that contact" in bad_contact.text and "could not read" in bad_mail.text
    assert "Anything our team should know about" in good.text
    (too_long_note,) = await converse(telegram, 1001, "x" * 501)
    assert "500 characters" in too_long_note.text
    assert operator.count("referrals") == 0


async def test_no_consent_or_cancel_leaves_nothing(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await begin(telegram)
    _, ask_note = await converse(telegram, 1001, "Bea", "bea@example.com")
    await telegram.press_button(telegram.user(1001, "Ana"), ask_note, "d:skip")
    confirm = (await telegram.wait_for_messages(1001, 5))[4]
    assert "Did Bea agree that we contact them?" in confirm.text
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:no")
    declined = (await telegram.wait_for_messages(1001, 6))[5]
    assert "nothing was saved" in declined.text
    await telegram.send_command(telegram.user(1001, "Ana"), "refer")
    await telegram.wait_for_messages(1001, 7)
    await telegram.send_command(telegram.user(1001, "Ana"), "cancel")
    cancelled = (await telegram.wait_for_messages(1001, 8))[7]
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert operator.count("referrals") == 0 and operator.count("drafts") == 0


async def test_the_same_contact_is_not_referred_twice(
    engine: Engine, telegram: TelegramEmulator, operator: Operator
) -> None:
    await begin(telegram)
    await converse(telegram, 1001, "Bea", "bea@example.com")
    await telegram.send_command(telegram.user(1001, "Ana"), "refer")
    await telegram.wait_for_messages(1001, 5)
    await converse(telegram, 1001, "Bea", "bea@example.com")
    # The first draft was replaced by the second; confirm it through to the end twice over.
    _, ask_note = telegram.messages(1001)[-2:]
    await telegram.press_button(telegram.user(1001, "Ana"), ask_note, "d:skip")
    confirm = (await telegram.wait_for_messages(1001, 8))[7]
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
    await telegram.wait_for_messages(1001, 9)
    await telegram.send_command(telegram.user(1001, "Ana"), "refer")
    await telegram.wait_for_messages(1001, 10)
    _, duplicate = await converse(telegram, 1001, "Bea again", "BEA@example.com")
    assert "has been referred already" in duplicate.text  # told at once, not after the note and the consent
    assert operator.count("referrals") == 1 and operator.count("drafts") == 0


REFUSED = {
    "en": ("That is you, Ana!", "Ben is already a customer of Acme Coffee"),
    "es": ("¡Esa persona eres tú, Ana!", "Ben ya es cliente de Acme Coffee"),
    "fa": ("Ana، این خود شما هستید!", "Ben از قبل مشتری Acme Coffee است"),
}


@pytest.mark.parametrize("language", ["en", "es", "fa"])
async def test_a_customer_cannot_refer_themselves_or_an_existing_customer(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, language: str
) -> None:
    ana = telegram.user(1001, "Ana", username="Ana_Bean", language_code=language)
    await telegram.send_command(ana, "start")
    await telegram.wait_for_messages(1001, 1)
    await telegram.share_contact(ana, phone_number="15550001111")  # Telegram sends it without the +
    await telegram.wait_for_messages(1001, 2)
    await telegram.send_command(telegram.user(2001, "Ben", username="ben_brew"), "start")
    await telegram.wait_for_messages(2001, 1)
    own_phone = await refer(telegram, ana, "Me", "+1 555 000 1111")
    own_username = await refer(telegram, ana, "Me again", "@ana_bean")
    customer = await refer(telegram, ana, "Ben", "@BEN_brew")
    yourself, existing = REFUSED[language]
    assert yourself in own_phone and yourself in own_username  # Persian's start with a right-to-left mark
    assert existing in customer
    assert operator.count("referrals") == 0 and operator.count("rewards") == 0
    assert operator.count("outbox WHERE platform = 'slack'") == 0 and operator.count("drafts") == 0
    assert slack.messages(ALERTS) == []


async def refer(telegram: TelegramEmulator, person: FakeUser, name: str, contact: str) -> str:
    """/refer, the friend's name and contact; what the bot answers to the contact."""
    before = len(telegram.messages(person.id))
    await telegram.send_command(person, "refer")
    await telegram.wait_for_messages(person.id, before + 1)
    _, reply = await converse(telegram, person.id, name, contact)
    return reply.text
