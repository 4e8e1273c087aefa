"""The managers' figures come from tallies kept as referrals move: they must say what the referrals themselves say,
over whole days and over the period's first, partial day, on every backend."""

from __future__ import annotations

import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.clock import FakeClock
from bot.core.models import Customer, Referral
from bot.program.rules import Program
from bot.reports import stats
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator
from storage import open_store

from conftest import ALERTS, MAYA, RITA, Operator, eventually, team_bot
from helpers import ask, start

BACKENDS = ("sqlite", "postgresql")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
VARIANTS = ("control", "bigger_reward", "")  # '' stands for a referral made before variants existed


async def _history(operator: Operator, seed: int) -> None:
    """Forty referrals over ten days, moved on one transaction at a time the way the team moves them: some claimed
    days after they arrived, some contacted, converted or lost; timers firing (twice for some); shares."""
    rng = random.Random(seed)
    store = await open_store(operator.url)
    await store.migrate()
    async with store.transaction() as tx:
        for n, group in enumerate(("control", "bigger_reward")):
            await tx.insert_customer(Customer(500 + n, "R", None, None, "en", "customer", f"c{n:07d}", group, NOW, NOW))
    for n in range(40):
        arrived = NOW - timedelta(days=10) + timedelta(minutes=rng.randrange(10 * 24 * 60))
        variant = rng.choice(VARIANTS) or None
        claimed = arrived + timedelta(minutes=rng.randrange(1, 4000)) if n % 7 == 0 else None  # some arrive claimed
        referral = Referral(f"r{n}", 500 + n % 2, "link", "link", "claimed" if claimed else "new", arrived, arrived,
                            variant=variant, claimed_at=claimed)  # fmt: skip
        async with store.transaction() as tx:
            await tx.insert_referral(referral)
            await tx.add_timer(referral.id, "claim_nudge", arrived, arrived)
            await tx.add_timer(referral.id, "escalate", arrived, arrived)
        await _move_on(store, operator, referral, rng)
    for n in range(30):
        async with store.transaction() as tx:
            await tx.insert_share_event(500 + n % 2, "inline", None, NOW - timedelta(hours=rng.randrange(240)))
    await store.close()


async def _move_on(store: Any, operator: Operator, referral: Referral, rng: random.Random) -> None:
    at = referral.claimed_at or referral.created_at
    steps: list[dict[str, Any]] = [] if referral.claimed_at else [{"status": "claimed", "claimed_at": None}]
    steps += [{"status": "contacted", "contacted_at": None}, {"status": rng.choice(("converted", "lost", "rejected"))}]
    for step in steps[: rng.randrange(len(steps) + 1)]:
        at += timedelta(minutes=rng.randrange(1, 3000))
        if step["status"] in ("converted", "lost", "rejected"):
            step[f"{step['status']}_at"] = None
        changes = {key: at if key.endswith("_at") else value for key, value in step.items()}
        if rng.random() < 0.2:  # last touch: another referrer's link moved the credit
            changes["referrer_id"] = 500 + (referral.referrer_id + 1) % 2
        async with store.transaction() as tx:
            await tx.update_referral(referral.id, **changes, updated_at=at)
    for kind in ("claim_nudge", "escalate"):
        if rng.random() < 0.4:
            (timer,) = operator.rows("SELECT id FROM sla_timers WHERE referral_id = ? AND kind = ?", referral.id, kind)
            async with store.transaction() as tx:
                await tx.finish_timer(timer["id"], "fired", at)


def _kept(operator: Operator) -> tuple[list[dict[str, Any]], ...]:
    tallies = (  # summed over the shards, as the reports read them
        "SELECT day, variant, SUM(arrived) AS arrived, SUM(claimed) AS claimed, SUM(contacted) AS contacted,"
        " SUM(converted) AS converted, SUM(breached) AS breached FROM referral_tallies GROUP BY day, variant"
        " ORDER BY day, variant"
    )
    durations = "SELECT id, ROUND(claim_seconds) AS claim, ROUND(contact_seconds) AS contact FROM referrals ORDER BY id"
    shares = "SELECT day, variant, SUM(shares) AS shares FROM share_tallies GROUP BY day, variant ORDER BY day, variant"
    advocates = "SELECT referrer_id, referrals, converted FROM advocate_tallies WHERE referrals > 0"
    advocates += " ORDER BY referrer_id"
    return operator.rows(tallies), operator.rows(durations), operator.rows(shares), operator.rows(advocates)


async def test_the_tallies_kept_change_by_change_agree_with_a_recount_from_the_rows(operator: Operator) -> None:
    await _history(operator, seed=7)
    kept = _kept(operator)
    tallies, durations, _, advocates = kept
    # the leaderboard's counts leave out rejected referrals and follow a referral moved to another referrer
    assert advocates == operator.rows(
        "SELECT referrer_id, SUM(CASE WHEN status <> 'rejected' THEN 1 ELSE 0 END) AS referrals,"
        " SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END) AS converted FROM referrals"
        " GROUP BY referrer_id HAVING SUM(CASE WHEN status <> 'rejected' THEN 1 ELSE 0 END) > 0 ORDER BY referrer_id"
    )
    assert sum(row["referrals"] for row in advocates) < 40  # some were rejected
    assert sum(row["arrived"] for row in tallies) == 40
    assert {row["variant"] for row in tallies} == set(VARIANTS)
    assert (
        sum(row["breached"] for row in tallies)
        == operator.rows("SELECT COUNT(DISTINCT referral_id) AS n FROM sla_timers WHERE status = 'fired'")[0]["n"]
        > 0
    )
    assert any(row["claim"] is not None and row["claim"] > 86400 for row in durations)  # claimed days later
    store = await open_store(operator.url)
    try:
        await store.recount_report_figures()  # everything counted again from the rows alone
    finally:
        await store.close()
    assert _kept(operator) == kept


async def test_stats_count_the_periods_first_day_from_its_start_and_claims_made_later_by_arrival(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    # `stats 7d` asked on 5 January at 09:00 starts on 29 December at 09:00
    clock.advance(timedelta(days=-7, minutes=-30))
    async with team_bot(telegram, slack, program, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        ben = await _arrives(telegram, slack, code, 2001, "Ben")  # 08:30: before the 7 days
        clock.advance(timedelta(hours=1))
        cal = await _arrives(telegram, slack, code, 2002, "Cal")  # 09:30 on the period's first day
        await _claimed(slack, clock, operator, cal, minutes=2)
        clock.advance(timedelta(days=5))
        dee = await _arrives(telegram, slack, code, 2003, "Dee")
        await _claimed(slack, clock, operator, dee, minutes=6)
        clock.advance(timedelta(hours=23))
        await _claimed(slack, clock, operator, ben, minutes=0)  # counted on Ben's day, outside the 7 days
        clock.advance(datetime(2026, 1, 5, 9, 0, tzinfo=UTC) - clock.now())
        week = await ask(slack, MAYA, "stats 7d")
        everything = await ask(slack, MAYA, "stats all")
    assert "Asked 0 → shared 0 → arrived 2 → claimed 2 → contacted 0 → converted 0" in week
    assert "Median time to claim: *4 min*" in week  # between Cal's 2 and Dee's 6
    assert "Asked 0 → shared 0 → arrived 3 → claimed 3 → contacted 0 → converted 0" in everything
    assert "Median time to claim: *6 min*" in everything  # Dee's: Cal's 2 below it, Ben's day above


async def _arrives(telegram: TelegramEmulator, slack: SlackEmulator, code: str, user_id: int, name: str) -> Any:
    await telegram.open_deep_link(telegram.user(user_id, name), code)

    def alert() -> Any:
        return next((m for m in slack.messages(ALERTS) if not m.is_reply and name in m.text), None)

    await slack.wait_for(lambda: alert() is not None, what=f"the alert for {name}")
    return alert()


async def _claimed(slack: SlackEmulator, clock: FakeClock, operator: Operator, alert: Any, minutes: int) -> None:
    clock.advance(timedelta(minutes=minutes))
    claimed = operator.count("referrals WHERE claimed_at IS NOT NULL")
    await slack.click(RITA, alert, "referral_claim")
    await eventually(lambda: operator.count("referrals WHERE claimed_at IS NOT NULL") == claimed + 1)


async def test_rep_figures_are_the_medians_of_each_reps_own_referrals(operator: Operator) -> None:
    """`/referrals reps` reads counts and medians from indexes: they must be what the rows say, rep by rep."""
    rng = random.Random(11)
    store = await open_store(operator.url)
    await store.migrate()
    try:
        async with store.transaction() as tx:
            await tx.insert_customer(Customer(500, "R", None, None, "en", "customer", "c0000000", "control", NOW, NOW))
        for n in range(45):
            arrived = NOW - timedelta(days=14) + timedelta(minutes=rng.randrange(14 * 24 * 60))
            async with store.transaction() as tx:
                await tx.insert_referral(Referral(f"r{n}", 500, "link", "link", "new", arrived, arrived))
            if n % 9 == 8:
                continue  # nobody claimed it
            claimed = arrived + timedelta(minutes=rng.randrange(1, 600))
            rep = ("U0RITA", "U0SAM", "U0LEE")[n % 3]
            changes: dict[str, Any] = {"status": "claimed", "assignee": rep, "claimed_at": claimed}
            if rng.random() < 0.7:
                changes |= {"status": rng.choice(("contacted", "converted")), "contacted_at": claimed + timedelta(
                    minutes=rng.randrange(1, 900))}  # fmt: skip
            async with store.transaction() as tx:
                await tx.update_referral(f"r{n}", **changes, updated_at=claimed)
        for period in ("all", "7d"):
            shown = await stats.reps(store, stats.parse_period(period, NOW))  # type: ignore[arg-type]
            expected = _reps_from_rows(operator, NOW - timedelta(days=7) if period == "7d" else None)
            assert [_rounded(figures) for figures in shown] == [_rounded(figures) for figures in expected]
            assert len(shown) == 3 and all(figures.claimed > 1 for figures in shown)
    finally:
        await store.close()


def _reps_from_rows(operator: Operator, since: datetime | None) -> list[stats.RepFigures]:
    rows = operator.rows("SELECT assignee, created_at, claimed_at, contacted_at, status FROM referrals")
    figures = []
    for rep in {row["assignee"] for row in rows if row["assignee"]}:
        mine = [r for r in rows if r["assignee"] == rep and (since is None or _at(r["created_at"]) >= since)]
        claim = [_at(r["claimed_at"]) - _at(r["created_at"]) for r in mine if r["claimed_at"]]
        contact = [_at(r["contacted_at"]) - _at(r["claimed_at"]) for r in mine if r["contacted_at"]]
        converted = sum(r["status"] == "converted" for r in mine)
        figures.append(stats.RepFigures(rep, len(mine), _median(claim), _median(contact), converted))
    return sorted(figures, key=lambda f: (-f.converted, f.median_claim_minutes or 0.0))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _median(durations: list[timedelta]) -> float | None:
    return statistics.median(d.total_seconds() / 60 for d in durations) if durations else None


def _rounded(figures: stats.RepFigures) -> stats.RepFigures:
    """To the millisecond: stored seconds and timestamps subtracted may differ in the last bits of a float."""
    claim, contact = (
        None if m is None else round(m * 60, 3) for m in (figures.median_claim_minutes, figures.median_contact_minutes)
    )
    return replace(figures, median_claim_minutes=claim, median_contact_minutes=contact)


async def test_the_leaderboard_ranks_advocates_as_their_referrals_say_ties_included(operator: Operator) -> None:
    """`/referrals top` reads kept counts: each cut must show what counting the referrals themselves shows,
    rejected referrals left out, ties at the last place broken by name as before."""
    # (name, converted, referred): Cy and Bo tie with Ed at third place on counts, so the name decides
    advocates = [("Ana", 3, 5), ("Dee", 2, 6), ("Ed", 1, 4), ("Bo", 1, 4), ("Cy", 1, 4), ("Fay", 0, 2), ("Gus", 0, 0)]
    store = await open_store(operator.url)
    await store.migrate()
    try:
        for n, (name, converted, referred) in enumerate(advocates):
            async with store.transaction() as tx:
                await tx.insert_customer(
                    Customer(600 + n, name, None, None, "en", "customer", f"a{n:07d}", "", NOW, NOW)
                )
            for k in range(referred + 1):  # one more, rejected, which must not count
                async with store.transaction() as tx:
                    await tx.insert_referral(Referral(f"{name}{k}", 600 + n, "link", "link", "new", NOW, NOW))
                status = "rejected" if k == referred else "converted" if k < converted else "contacted"
                async with store.transaction() as tx:
                    await tx.update_referral(f"{name}{k}", status=status, updated_at=NOW)
        for limit in (1, 3, 4, 10):
            shown = [(row.first_name, row.converted, row.referrals) for row in await stats.leaderboard(store, limit)]
            ranked = sorted((a for a in advocates if a[2]), key=lambda a: (-a[1], -a[2], a[0]))
            assert shown == ranked[:limit]
        assert [row.first_name for row in await stats.leaderboard(store, 3)] == ["Ana", "Dee", "Bo"]
    finally:
        await store.close()
