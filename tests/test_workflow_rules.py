"""The rep workflow's rules without Slack: every action from every status, applied or refused with the words the
rep reads, double clicks, and what the team's thread and the two customers are sent. The domain runs on a real
SQLite store with a fake clock; the outbox rows are what Slack and Telegram would be sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.core.models import Status
from bot.team.workflow import Outcome

from conftest import ALERTS, MAYA, RITA, SAM, Domain

# How a referral reaches each status, from new: the rep's actions in order.
PATHS: dict[Status, tuple[str, ...]] = {
    Status.NEW: (),
    Status.CLAIMED: ("claim",),
    Status.CONTACTED: ("claim", "contacted"),
    Status.CONVERTED: ("claim", "converted"),
    Status.LOST: ("lost",),
    Status.REJECTED: ("flag",),
}
ACTIONS = ("claim", "contacted", "converted", "lost", "flag")
FIRST = "Claim this referral first."
CONTACTED_ALREADY = "This referral has already been contacted."

# For each status and action: the status it leads to, or the refusal the rep reads (Rita acts every time).
EXPECTED: dict[Status, dict[str, Status | str]] = {
    Status.NEW: {"claim": Status.CLAIMED, "contacted": FIRST, "converted": FIRST, "lost": Status.LOST},
    Status.CLAIMED: {
        "claim": "You have already claimed this referral.",
        "contacted": Status.CONTACTED,
        "converted": Status.CONVERTED,
        "lost": Status.LOST,
    },
    Status.CONTACTED: {
        "claim": CONTACTED_ALREADY,
        "contacted": CONTACTED_ALREADY,
        "converted": Status.CONVERTED,
        "lost": Status.LOST,
    },
    **{
        closed: dict.fromkeys(ACTIONS, f"This referral is already closed ({closed.value}).")
        for closed in (Status.CONVERTED, Status.LOST, Status.REJECTED)
    },
}
for open_status in (Status.NEW, Status.CLAIMED, Status.CONTACTED):
    EXPECTED[open_status]["flag"] = Status.REJECTED  # anything still open may be flagged as abuse


async def refer_ben(domain: Domain) -> str:
    """Ana starts the bot, Ben arrives through her link; the referral's id."""
    await domain.start(1001, "Ana")
    code = domain.operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"]
    await domain.start(2001, "Ben", code)
    return str(domain.operator.rows("SELECT id FROM referrals")[0]["id"])


async def act(domain: Domain, referral_id: str, action: str, actor: str = RITA, **details: Any) -> Outcome:
    return await domain.team.act(domain.inbound(), referral_id, action, actor, **details)


def stored(domain: Domain, referral_id: str) -> dict[str, Any]:
    return domain.operator.rows("SELECT * FROM referrals WHERE id = ?", referral_id)[0]


def thread(domain: Domain) -> list[str]:
    """The audit lines the team reads under the alert."""
    return [row["text"] for row in domain.outbox("slack", ALERTS) if row["kind"] == "thread"]


def telegram_texts(domain: Domain, chat_id: int) -> list[str]:
    return [str(row["text"]) for row in domain.outbox("telegram", chat_id)]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", list(PATHS))
async def test_every_action_from_every_status_is_applied_or_refused_with_a_reason(
    domain: Domain, status: Status, action: str
) -> None:
    referral_id = await refer_ben(domain)
    for step in PATHS[status]:
        assert await act(domain, referral_id, step) == Outcome()
    assert stored(domain, referral_id)["status"] == status
    audit_lines = len(thread(domain))

    outcome = await act(domain, referral_id, action, deal_value="950", reason="went elsewhere")

    expected = EXPECTED[status][action]
    if isinstance(expected, Status):
        assert outcome == Outcome()  # nothing to say: the alert itself shows the change
        assert stored(domain, referral_id)["status"] == expected
        assert len(thread(domain)) == audit_lines + 1
    else:
        assert outcome == Outcome(refused=expected)
        assert stored(domain, referral_id)["status"] == status  # refused: nothing changed, nothing said
        assert len(thread(domain)) == audit_lines


async def test_claim_contacted_converted_is_timed_and_told_to_the_team_and_both_customers(domain: Domain) -> None:
    referral_id = await refer_ben(domain)
    domain.clock.advance(timedelta(minutes=3))
    await act(domain, referral_id, "claim")
    domain.clock.advance(timedelta(minutes=7))
    await act(domain, referral_id, "contacted")
    domain.clock.advance(timedelta(minutes=5))
    await act(domain, referral_id, "converted", deal_value="1200")

    assert thread(domain) == [
        ":raising_hand: <@U0RITA> claimed it · 3 min after arrival",
        ":telephone_receiver: <@U0RITA> marked it contacted · 10 min after arrival",
        ":tada: <@U0RITA> marked it converted (deal value 1,200.00 EUR) · 15 min after arrival",
    ]
    row = stored(domain, referral_id)
    assert (row["status"], row["assignee"], row["deal_value"]) == ("converted", RITA, "1200")
    assert all(row[f"{step}_at"] is not None for step in ("claimed", "contacted", "converted"))
    congratulations, question = telegram_texts(domain, 1001)[-2:]  # then Ana is asked how she likes the program
    assert congratulations.startswith("🎉 Great news, Ana! Ben has become a customer of Acme Coffee, thanks to you.")
    assert "Your reward: <b>a free 1 kg bag of beans" in congratulations
    assert question.startswith("How likely are you to recommend <b>Acme Coffee</b> to a friend or colleague?")
    assert "Your welcome gift: <b>15% off your first three deliveries</b>" in telegram_texts(domain, 2001)[-1]


async def test_a_lost_referral_keeps_its_reason_and_nobody_is_congratulated(domain: Domain) -> None:
    referral_id = await refer_ben(domain)
    await act(domain, referral_id, "claim")
    told_ana, told_ben = len(telegram_texts(domain, 1001)), len(telegram_texts(domain, 2001))
    await act(domain, referral_id, "lost", reason="chose a competitor")

    assert thread(domain)[-1] == ":x: <@U0RITA> marked it lost: chose a competitor · 0 min after arrival"
    assert stored(domain, referral_id)["lost_reason"] == "chose a competitor"
    assert (len(telegram_texts(domain, 1001)), len(telegram_texts(domain, 2001))) == (told_ana, told_ben)


async def test_a_flagged_referral_is_rejected_by_whoever_flags_it(domain: Domain) -> None:
    referral_id = await refer_ben(domain)
    await act(domain, referral_id, "flag", actor=MAYA)
    assert thread(domain) == [
        ":no_entry: <@U0MAYA> flagged it: referral rejected, rewards revoked · 0 min after arrival"
    ]
    assert stored(domain, referral_id)["status"] == "rejected"


async def test_a_second_rep_is_told_who_claimed_it_first(domain: Domain) -> None:
    referral_id = await refer_ben(domain)
    await act(domain, referral_id, "claim", actor=RITA)
    assert await act(domain, referral_id, "claim", actor=SAM) == Outcome("<@U0RITA> has already claimed this referral.")
    assert stored(domain, referral_id)["assignee"] == RITA


async def test_a_double_click_delivered_twice_counts_once(domain: Domain) -> None:
    referral_id = await refer_ben(domain)
    click = domain.inbound()
    assert await domain.team.act(click, referral_id, "claim", RITA) == Outcome()
    claimed_at = stored(domain, referral_id)["claimed_at"]
    domain.clock.advance(timedelta(minutes=1))
    # Slack retries the same action: no effect and nothing to tell, since the rep's click did work.
    assert await domain.team.act(click, referral_id, "claim", RITA) == Outcome()
    assert stored(domain, referral_id)["claimed_at"] == claimed_at
    assert thread(domain) == [":raising_hand: <@U0RITA> claimed it · 0 min after arrival"]


async def test_an_action_on_a_referral_that_is_gone_is_refused(domain: Domain) -> None:
    assert await act(domain, "no-such-referral", "claim") == Outcome("That referral no longer exists.")
    assert domain.outbox("slack", ALERTS) == []


@pytest.mark.parametrize("action", ["contacted", "converted", "lost", "flag"])
async def test_only_the_assignee_or_a_manager_moves_a_claimed_referral_on(domain: Domain, action: str) -> None:
    referral_id = await refer_ben(domain)
    await act(domain, referral_id, "claim", actor=RITA)
    step = "flag it" if action == "flag" else f"mark it {action}"
    refusal = f"<@U0RITA> has claimed this referral, so only they or a manager can {step}."
    assert await act(domain, referral_id, action, actor=SAM, deal_value="950", reason="x") == Outcome(refusal)
    assert (stored(domain, referral_id)["status"], len(thread(domain))) == ("claimed", 1)  # nothing changed
    assert await act(domain, referral_id, action, actor=MAYA, deal_value="950", reason="x") == Outcome()
    assert stored(domain, referral_id)["status"] != "claimed"


async def test_a_rep_may_flag_what_they_claimed_or_what_is_unclaimed(domain: Domain) -> None:
    unclaimed = await refer_ben(domain)
    assert await act(domain, unclaimed, "flag", actor=SAM) == Outcome()
    await domain.start(2002, "Cal", stored_code(domain))
    (claimed,) = [r["id"] for r in domain.operator.rows("SELECT id FROM referrals WHERE status = 'new'")]
    await act(domain, claimed, "claim", actor=SAM)
    assert await act(domain, claimed, "flag", actor=SAM) == Outcome()
    assert domain.operator.count("referrals WHERE status = 'rejected'") == 2


def stored_code(domain: Domain) -> str:
    return str(domain.operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"])
