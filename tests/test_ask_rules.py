"""Who may be asked to refer, rule by rule and at each rule's boundary, without Telegram or Slack: the segments
the program asks, "Stop asking me", unreachable chats, the cooldown, the cap of asks in 90 days, and quiet hours;
and which of these still hold when a promoter is asked right after their answer. The domain runs on a real
SQLite store with a fake clock; what the operator reads is the campaign's report, what the customer reads is the
outbox row queued for them."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from bot.core import buttons
from bot.core.models import ChatUser
from bot.engagement.ask_sweep import FollowUpSweep
from bot.integrations.advocates import AdvocateImport, read_csv
from bot.program.rules import Program, load_program
from bot.program.sections import QuietHours

from conftest import ROOT, Domain

COOLDOWN, CAP = 10, 3
# The fake clock starts on Monday 5 January 2026 at 09:00 UTC: 10:00 in Madrid, the program's time zone, where
# quiet hours run from 21:00 to 09:00.
TO_QUIET = timedelta(hours=11)  # 21:00 in Madrid
SECOND = timedelta(seconds=1)
ANA = ChatUser(1001, "Ana", language_code="en")
ASK = "Happy with Acme Coffee? You probably know someone who would be too."


@pytest.fixture
def program(request: pytest.FixtureRequest) -> Program:
    """The example program with a 10-day cooldown (so the cap of 3 in 90 days can be reached), and any other
    asks settings a test names with `@pytest.mark.parametrize("program", [{...}], indirect=True)`."""
    example = load_program(ROOT / "program.example.toml")
    changes: dict[str, Any] = {"cooldown_days": COOLDOWN, "max_per_90_days": CAP, **getattr(request, "param", {})}
    return example.model_copy(update={"asks": example.asks.model_copy(update=changes)})


async def campaign(domain: Domain, segment: str = "customer", dry_run: bool = False) -> list[str]:
    """An ask campaign to a segment, and the report the operator reads."""
    report = await domain.services.campaigns.run(segment, dry_run=dry_run)
    return report.lines(domain.services.units.program.asks)


async def judged(domain: Domain, segment: str = "customer") -> list[str]:
    """A dry run's report: who would be asked now, and why not the others."""
    return await campaign(domain, segment, dry_run=True)


def would_ask_all(count: int, segment: str = "customer") -> list[str]:
    return [f"Dry run: nothing was sent or recorded. {count} of {count} in {segment} would be asked."]


def would_skip_one(reason: str, segment: str = "customer") -> list[str]:
    head = f"Dry run: nothing was sent or recorded. 0 of 1 in {segment} would be asked."
    return [head, "Not asked: 1", f"  {reason}: 1"]


def asks_to(domain: Domain, chat_id: int) -> list[str]:
    """The referral requests queued for a customer."""
    return [row["text"] for row in domain.outbox("telegram", chat_id) if ASK in row["text"]]


async def import_advocates(domain: Domain, *lines: str) -> None:
    """The operator imports people with their segments (`referral-bot import-advocates`)."""
    good, bad = read_csv("\n".join(("telegram_id,first_name,last_name,language,segment", *lines)).encode())
    assert bad == []
    await AdvocateImport(domain.services.units).run(good)


@pytest.mark.parametrize(
    ("segment", "asked"),
    [("inner_circle", True), ("customer", True), ("partner", True), ("past_customer", False), ("prospect", False)],
)
async def test_only_the_segments_the_program_names_are_asked(domain: Domain, segment: str, asked: bool) -> None:
    await import_advocates(domain, f"1001,Ana,,en,{segment}")
    expected = would_ask_all(1, segment) if asked else would_skip_one("not in a segment the program asks", segment)
    assert await judged(domain, segment) == expected
    await campaign(domain, segment)
    assert len(asks_to(domain, 1001)) == (1 if asked else 0)


async def test_a_campaign_asks_with_the_programs_pitch_and_a_way_to_say_no(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    assert await campaign(domain) == ["Asked 1 of 1 in customer."]
    (ask,) = [row for row in domain.outbox("telegram", 1001) if ASK in row["text"]]
    assert ask["text"].startswith(f"Hi Ana! {ASK}")
    assert [button["text"] for button in ask["buttons"][-1]] == ["🙏 Not now", "🔕 Stop asking me"]


async def test_who_said_stop_is_not_asked_until_they_resume(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    await domain.services.preferences.opt_out(domain.inbound(), ANA, out=True)
    assert domain.outbox("telegram", 1001)[-1]["text"].startswith("Done: we will not ask you to refer anyone again.")
    assert await campaign(domain) == ["Asked 0 of 1 in customer.", "Not asked: 1", "  opted out of asks: 1"]
    await domain.services.preferences.opt_out(domain.inbound(), ANA, out=False)
    assert await campaign(domain) == ["Asked 1 of 1 in customer."]
    assert len(asks_to(domain, 1001)) == 1


async def test_an_unreachable_chat_is_not_asked_until_the_customer_writes_again(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    # What the dispatcher records when Telegram says she blocked the bot.
    async with domain.services.units.store.transaction() as tx:
        await tx.update_customer(1001, unreachable_at=domain.clock.now())
    assert await judged(domain) == would_skip_one("unreachable in Telegram (and no e-mail to send instead)")
    await domain.services.preferences.help(domain.inbound(), ANA)  # she unblocked the bot and wrote
    assert await judged(domain) == would_ask_all(1)


async def test_the_cooldown_ends_exactly_cooldown_days_after_the_last_ask(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    await campaign(domain)
    domain.clock.advance(timedelta(days=COOLDOWN) - SECOND)
    assert await judged(domain) == would_skip_one("asked within the last 10 days")
    domain.clock.advance(SECOND)
    assert await campaign(domain) == ["Asked 1 of 1 in customer."]
    assert len(asks_to(domain, 1001)) == 2


async def test_the_reminder_is_no_new_ask_for_the_cooldown(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    await campaign(domain)
    domain.clock.advance(timedelta(days=COOLDOWN - 1))  # the program reminds after 7 days
    assert await FollowUpSweep(domain.services.units).sweep() == 1
    assert domain.outbox("telegram", 1001)[-1]["text"].startswith("A quick reminder, Ana")
    domain.clock.advance(timedelta(days=1))
    assert await judged(domain) == would_ask_all(1)  # ten days after the ask, not after the reminder


async def test_the_cap_counts_the_asks_of_the_last_90_days(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    for _ in range(CAP):
        assert await campaign(domain) == ["Asked 1 of 1 in customer."]
        domain.clock.advance(timedelta(days=COOLDOWN))
    assert await judged(domain) == would_skip_one("already asked 3 times in 90 days")
    domain.clock.advance(timedelta(days=90 - COOLDOWN * CAP) - SECOND)  # the first ask is 90 days old but a second
    assert await judged(domain) == would_skip_one("already asked 3 times in 90 days")
    domain.clock.advance(SECOND)
    assert await judged(domain) == would_ask_all(1)


@pytest.mark.parametrize(
    ("after_start", "quiet"),
    [
        (TO_QUIET - SECOND, False),  # 20:59:59
        (TO_QUIET, True),  # 21:00, quiet hours begin
        (timedelta(hours=15), True),  # 01:00, past midnight
        (timedelta(hours=23) - SECOND, True),  # 08:59:59 the next morning
        (timedelta(hours=23), False),  # 09:00, quiet hours end
    ],
)
async def test_quiet_hours_are_read_in_the_business_time_zone(
    domain: Domain, after_start: timedelta, quiet: bool
) -> None:
    await domain.start(1001, "Ana")
    domain.clock.advance(after_start)
    assert await judged(domain) == (would_skip_one("quiet hours now") if quiet else would_ask_all(1))


@pytest.mark.parametrize("program", [{"quiet_hours": QuietHours(start=time(21), end=time(21))}], indirect=True)
async def test_quiet_hours_that_start_when_they_end_are_none(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    domain.clock.advance(TO_QUIET)
    assert await judged(domain) == would_ask_all(1)


async def test_the_first_reason_is_the_one_reported(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    await campaign(domain)
    await domain.services.preferences.opt_out(domain.inbound(), ANA, out=True)
    domain.clock.advance(TO_QUIET)  # opted out, within the cooldown, and in quiet hours
    assert await judged(domain) == would_skip_one("opted out of asks")


async def promoter(domain: Domain, user: ChatUser) -> None:
    """The customer sends /feedback and taps 10."""
    await domain.services.nps.ask(domain.inbound(), user)
    (question,) = [row for row in domain.outbox("telegram", user.id) if row["text"].startswith("How likely")]
    ten = buttons.parse(question["buttons"][1][-1]["value"])
    assert isinstance(ten, buttons.NpsScore) and ten.score == 10
    await domain.services.nps.button(domain.inbound(), user, ten)


async def test_a_promoter_is_asked_at_once_whatever_their_segment_and_the_hour(domain: Domain) -> None:
    await import_advocates(domain, "1001,Ana,,en,prospect")
    domain.clock.advance(TO_QUIET)
    await promoter(domain, ANA)
    assert len(asks_to(domain, 1001)) == 1


async def test_a_promoter_who_said_stop_or_was_just_asked_is_not_asked_again(domain: Domain) -> None:
    await domain.start(1001, "Ana")
    await domain.services.preferences.opt_out(domain.inbound(), ANA, out=True)
    await promoter(domain, ANA)
    assert asks_to(domain, 1001) == []

    ben = ChatUser(1002, "Ben", language_code="en")
    await domain.start(ben.id, ben.first_name)
    await campaign(domain)
    await promoter(domain, ben)
    assert len(asks_to(domain, ben.id)) == 1  # the campaign's, and no second one within the cooldown
