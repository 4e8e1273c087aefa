"""Forgetting a person, by the operator's command and by /forget in Telegram: none of their personal data is left in
the database files, the anonymous counts stay, and /privacy shows what is stored before."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.engine import Engine
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_people import SentMessage

from conftest import ALERTS, MAYA, Operator, eventually
from helpers import answer, ask, converse, refer_ben, run, say, start
from stored_traces import database_bytes, names_left

# What identifies Ben: his surname, username, phone, the note Ana wrote about him and his own words.
TRACES = ("Blackwood", "benbw", "5550001111", "roastery expo", "beans were stale", "call me at noon")


def ben(telegram: TelegramEmulator) -> object:
    return telegram.user(2001, "Ben", last_name="Blackwood", username="benbw")


async def ben_leaves_traces(telegram: TelegramEmulator, slack: SlackEmulator) -> None:
    """Ana refers Ben directly and by link; Ben shares his phone, rates us badly with a comment, writes to the team."""
    code, welcome = await start(telegram, 1001, "Ana")
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, "refer")
    await telegram.wait_for_messages(1001, 2)
    (confirm,) = (await converse(telegram, 1001, "Ben Blackwood", "+1 555 000 1111", "met at the roastery expo"))[2:]
    await telegram.press_button(telegram.user(1001, "Ana"), confirm, "d:yes")
    await telegram.wait_for_messages(1001, 6)
    person = ben(telegram)
    await telegram.open_deep_link(person, code)  # type: ignore[arg-type]
    await telegram.wait_for_messages(2001, 1)
    await telegram.share_contact(person, phone_number="+15550001111")  # type: ignore[arg-type]
    await telegram.wait_for_messages(2001, 2)
    await answer(telegram, 2001, "Ben", 3)
    await say(telegram, 2001, "Ben", "Blackwood here: the beans were stale")
    await say(telegram, 2001, "Ben", "Please call me at noon")
    await slack.wait_for(lambda: len(slack.messages(ALERTS)) >= 3, what="alerts, the support note and the reply")


def traces_left(where: Path | Operator) -> list[str]:
    """Ben's traces in the database files (SQLite), or in every row of every table (PostgreSQL, whose files the
    bot does not own: its vacuum and WAL archive are the operator's)."""
    if isinstance(where, Operator) and where.schema is not None:
        tables = where.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        content = "".join(repr(where.rows(f"SELECT * FROM {t['table_name']}")) for t in tables).encode()
    else:
        content = database_bytes(where.path if isinstance(where, Operator) else where)
    return [trace for trace in TRACES if trace.encode() in content]


async def test_forget_from_the_command_line_leaves_no_trace_and_keeps_the_counts(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await ben_leaves_traces(telegram, slack)
    assert traces_left(operator.path) == list(TRACES)  # they were all there
    _, before, _ = await run(operator.path.parent, "stats", "all")
    code, out, _ = await run(operator.path.parent, "forget", "2001", "--yes")
    assert code == 0, out
    assert out.splitlines()[:2] == ["forgot Telegram user 2001", "kept anonymously: 0 referrals made, 2 as the friend"]
    assert traces_left(operator.path) == []
    _, after, _ = await run(operator.path.parent, "stats", "all")
    assert after == before and "arrived 2" in after and "NPS: *" not in after
    assert operator.rows("SELECT COUNT(*) AS n, SUM(score) AS scores FROM nps_answers WHERE score IS NOT NULL") == [
        {"n": 1, "scores": 3}
    ]
    rows = operator.rows("SELECT status, friend_name, friend_contact, friend_note FROM referrals ORDER BY status")
    erased = {"friend_name": None, "friend_contact": None, "friend_note": None}
    assert rows == [{"status": "new", **erased}, {"status": "rejected", **erased}]  # Ana's /refer: his duplicate
    assert operator.rows("SELECT telegram_id FROM customers WHERE telegram_id = 2001") == []
    assert operator.count("customers") == 2 and operator.count("feedback_answers") == 0


async def test_privacy_shows_everything_stored_with_the_consent_time(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator
) -> None:
    await ben_leaves_traces(telegram, slack)
    before = len(telegram.messages(2001))
    await telegram.send_command(ben(telegram), "privacy")  # type: ignore[arg-type]
    privacy = (await telegram.wait_for_messages(2001, before + 1))[before].text
    assert "Name: Ben Blackwood" in privacy and "Username: @benbw" in privacy
    assert "Group: new friend" in privacy and "Language: en" in privacy
    assert "Phone: +15550001111 (you agreed on 20" in privacy and " UTC)" in privacy
    assert "Your ratings (how likely you are to recommend us): 1" in privacy
    assert "You joined through a friend's invitation" in privacy and "/forget erases it" in privacy


async def forget_prompt(telegram: TelegramEmulator) -> SentMessage:
    before = len(telegram.messages(2001))
    await telegram.send_command(ben(telegram), "forget")  # type: ignore[arg-type]
    return (await telegram.wait_for_messages(2001, before + 1))[before]


async def press(telegram: TelegramEmulator, message: SentMessage, data: str) -> tuple[int, SentMessage]:
    before = len(telegram.messages(2001))
    update_id = await telegram.press_button(ben(telegram), message, data)  # type: ignore[arg-type]
    return update_id, (await telegram.wait_for_messages(2001, before + 1))[before]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
async def test_forget_in_telegram_asks_erases_and_starts_afresh(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await ben_leaves_traces(telegram, slack)
    prompt = await forget_prompt(telegram)
    assert prompt.text.startswith("Erase what we store about you?")
    assert [b["text"] for b in prompt.buttons()] == ["🗑 Yes, erase my data", "Keep my data"]
    _, kept = await press(telegram, prompt, "forget:no")
    assert kept.text.startswith("Nothing was erased.") and traces_left(operator) == list(TRACES)
    prompt = await forget_prompt(telegram)
    update_id, done = await press(telegram, prompt, "forget:yes")
    assert done.text.startswith("Done: we erased what we stored about you.")
    assert traces_left(operator) == []

    def cards() -> list[str]:
        return [m.text for m in slack.messages(ALERTS) if m.text.startswith("New referral")]

    closed, carried_on = "New referral: A friend (from Ana) · rejected", "New referral: A friend (from Ana) · new"
    await eventually(lambda: cards() == [closed, carried_on])  # redrawn without Ben (Ana's /refer: his duplicate)
    # The team's other messages that quoted him (the support notice, his reply in the thread) are replaced in Slack.

    def quoting() -> list[SlackMessage]:
        return [m for m in slack.all_messages() if any(t in m.text for t in TRACES)]

    await eventually(lambda: quoting() == [])
    assert sum("asked us to erase their data" in m.text for m in slack.all_messages()) >= 2
    count = len(telegram.messages(2001))
    await telegram.replay(update_id)  # Telegram delivers the same click again: nothing more happens
    _, again = await press(telegram, prompt, "forget:yes")  # a later click finds nothing to erase
    assert len(telegram.messages(2001)) == count + 1
    assert again.text == "We store nothing about you, so there is nothing to erase."
    await telegram.send_command(ben(telegram), "start")  # type: ignore[arg-type]
    welcome = (await telegram.wait_for_messages(2001, count + 2))[count + 1]
    assert welcome.text.startswith("Hi Ben, welcome to the Acme Coffee referral program!")
    assert operator.count("referrals") == 2 and operator.count("referrals WHERE friend_telegram_id = 2001") == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
async def test_a_forgotten_advocate_stays_on_the_leaderboard_unnamed_and_their_chat_is_not_kept(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await refer_ben(telegram, slack)
    assert "1. Ana: 0 converted of 1 referred" in await ask(slack, MAYA, "top")
    before = len(telegram.messages(1001))
    await telegram.send_command(telegram.user(1001, "Ana"), "forget")
    (prompt,) = (await telegram.wait_for_messages(1001, before + 1))[before:]
    await telegram.press_button(telegram.user(1001, "Ana"), prompt, "forget:yes")
    (done,) = (await telegram.wait_for_messages(1001, before + 2))[before + 1 :]
    assert done.text.startswith("Done: we erased what we stored about you.")
    top = await ask(slack, MAYA, "top")
    assert "1. A forgotten advocate: 0 converted of 1 referred" in top and "Ana" not in top
    await eventually(lambda: operator.count("outbox WHERE status IN ('pending', 'sending')") == 0)
    assert operator.rows("SELECT id, status FROM outbox WHERE chat_id = '1001'") == []


# Names too short for any text search (one and two letters, in Latin, Chinese, Cyrillic and Persian script): what
# names them must be found by whose name it carries.
SHORT_NAMES = [("Jo", "Qz"), ("王伟", "X"), ("Ян", "مه")]


async def short_names_meet(telegram: TelegramEmulator, slack: SlackEmulator, referrer: str, friend: str) -> None:
    """The referrer names the friend directly, the friend arrives through the referrer's link, shares their phone,
    rates us badly and writes to the team: every text that names one of them to the other or to the team."""
    code, welcome = await start(telegram, 1001, referrer)
    await telegram.press_button(telegram.user(1001, referrer), welcome, "refer")
    await telegram.wait_for_messages(1001, 2)
    for text in (friend, "+1 555 000 2222", "likes espresso"):
        await say(telegram, 1001, referrer, text)
    confirm = telegram.messages(1001)[-1]
    await telegram.press_button(telegram.user(1001, referrer), confirm, "d:yes")
    await telegram.wait_for_messages(1001, 6)
    await telegram.open_deep_link(telegram.user(2001, friend), code)
    await telegram.wait_for_messages(2001, 1)
    await telegram.share_contact(telegram.user(2001, friend), phone_number="+15550002222")
    await telegram.wait_for_messages(2001, 2)
    await answer(telegram, 2001, friend, 3)
    await say(telegram, 2001, friend, "Is the offer still on?")
    await slack.wait_for(lambda: len(slack.messages(ALERTS)) >= 3, what="alerts, the support note and the reply")


async def forget_in_chat(telegram: TelegramEmulator, user_id: int, name: str) -> None:
    person, before = telegram.user(user_id, name), len(telegram.messages(user_id))
    await telegram.send_command(person, "forget")
    prompt = (await telegram.wait_for_messages(user_id, before + 1))[before]
    await telegram.press_button(person, prompt, "forget:yes")
    done = (await telegram.wait_for_messages(user_id, before + 2))[before + 1]
    assert done.text.startswith("Done: we erased what we stored about you.")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("friend_first", [True, False], ids=["friend first", "referrer first"])
@pytest.mark.parametrize(
    ("referrer", "friend"), SHORT_NAMES, ids=["Latin", "Chinese and Latin", "Cyrillic and Persian"]
)
async def test_forget_erases_names_of_one_and_two_letters_in_any_script(
    team: Engine,
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    operator: Operator,
    referrer: str,
    friend: str,
    friend_first: bool,
) -> None:
    await short_names_meet(telegram, slack, referrer, friend)
    assert names_left(operator, (referrer, friend)) == [referrer, friend]  # the check finds them where they are
    first, then = [(2001, friend), (1001, referrer)][:: 1 if friend_first else -1]
    await forget_in_chat(telegram, *first)
    assert names_left(operator, (referrer, friend)) == [then[1]]  # the other's name stays where it belongs
    await forget_in_chat(telegram, *then)
    assert names_left(operator, (referrer, friend)) == []
    top = await ask(slack, MAYA, "top")
    assert "1. A forgotten advocate: 0 converted of 1 referred" in top and referrer not in top  # one friend, once
