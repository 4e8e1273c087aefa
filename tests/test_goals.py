"""Goals (`[[goals]]`): managers read each goal's progress in its calendar month or quarter, in the business's time
zone, in `/referrals stats`, on the App Home dashboard and from `referral-bot stats`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.core.errors import ConfigError
from bot.program.goals import Goal
from bot.program.rules import Program, load_program
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, ROOT, Operator, eventually
from helpers import ask, converted_referral, home_text, open_home, run

BACKENDS = ("sqlite", "postgresql")

# A Wednesday morning in Madrid (the example's business_hours time zone), the last day of the third quarter: the
# first conversion is counted in Q3, and those after the clock moves on in Q4.
LAST_DAY_OF_Q3 = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)
GOALS = (
    Goal(metric="conversions", target=Decimal(40), period="quarter"),
    Goal(name="Big deals", metric="revenue", target=Decimal(5000), period="quarter"),
    Goal(metric="referrals", target=Decimal(10), period="month"),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(LAST_DAY_OF_Q3)


@pytest.fixture
def program(program: Program) -> Program:
    return program.model_copy(update={"goals": GOALS})


def goal_lines(text: str) -> list[str]:
    lines = text.replace("*", "").splitlines()
    return [line for line in lines if line.startswith("• ") and any(p in line for p in ("Q3", "Q4", "2026:"))]


async def arrive_and_convert(
    telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, friends: dict[int, str], value: str
) -> None:
    """Friends arrive through Ana's link; Rita converts the first of them for `value`, through the alert's buttons."""
    code = operator.rows("SELECT referral_code FROM customers WHERE telegram_id = 1001")[0]["referral_code"]
    before = len(slack.messages(ALERTS))
    for user_id, name in friends.items():
        await telegram.open_deep_link(telegram.user(user_id, name), code)
    alerts = await slack.wait_for_messages(ALERTS, before + len(friends))
    alert: SlackMessage = alerts[before]
    for action in ("referral_claim", "referral_contacted", "referral_converted"):
        await slack.click(RITA, alert, action)
    await slack.wait_for(lambda: len(slack.views(RITA)) == 2, what="the deal value modal")
    await slack.submit_view(RITA, slack.views(RITA)[-1]["id"], {"answer": {"value": value}})
    await eventually(lambda: operator.count("referrals WHERE status = 'converted'") == 2)


async def test_stats_and_the_dashboard_show_each_goal_in_its_own_period(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator
) -> None:
    await converted_referral(telegram, slack, clock, operator)  # Ben, for 950, at 10:10 in Madrid on 30 September
    assert goal_lines(await ask(slack, MAYA, "stats")) == [
        "• Q3 2026: 1 of 40 conversions (3%), last day, on pace for 1",
        "• Big deals (Q3 2026): 950.00 EUR of 5,000.00 EUR revenue (19%), last day, on pace for 955.99 EUR",
        "• September 2026: 1 of 10 referrals (10%), last day, on pace for 1",
    ]
    # Two days into the fourth quarter: Ben's conversion was the last quarter's, and it is too early for a pace.
    clock.advance(datetime(2026, 10, 2, 10, 0, tzinfo=UTC) - clock.now())
    assert goal_lines(await ask(slack, MAYA, "stats")) == [
        "• Q4 2026: 0 of 40 conversions (0%), 91 days left",
        "• Big deals (Q4 2026): 0.00 EUR of 5,000.00 EUR revenue (0%), 91 days left",
        "• October 2026: 0 of 10 referrals (0%), 30 days left",
    ]
    clock.advance(datetime(2026, 11, 18, 9, 0, tzinfo=UTC) - clock.now())
    await arrive_and_convert(telegram, slack, operator, {2002: "Cal", 2003: "Dee"}, "1400")
    expected = [
        "• Q4 2026: 1 of 40 conversions (3%), 44 days left, on pace for 2",
        "• Big deals (Q4 2026): 1,400.00 EUR of 5,000.00 EUR revenue (28%), 44 days left, on pace for 2,659.16 EUR",
        "• November 2026: 2 of 10 referrals (20%), 13 days left, on pace for 3",
    ]
    stats = await ask(slack, MAYA, "stats 7d")
    assert "*Goals*" in stats and goal_lines(stats) == expected
    assert "arrived 2 → claimed 1 → contacted 1 → converted 1" in stats  # the funnel keeps its own period
    await open_home(slack, MAYA)
    assert goal_lines(home_text(slack, MAYA)) == expected


async def test_the_cli_shows_the_goals_as_they_stood_on_a_day(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator, tmp_path: Path
) -> None:
    await converted_referral(telegram, slack, clock, operator)
    clock.advance(datetime(2026, 11, 18, 9, 0, tzinfo=UTC) - clock.now())
    await arrive_and_convert(telegram, slack, operator, {2002: "Cal", 2003: "Dee"}, "1400")
    url, goals = operator.url, str(goals_file(tmp_path))
    code, out, err = await run(
        tmp_path, "stats", "all", "--goals-on", "2026-11-18", DATABASE_URL=url, PROGRAM_FILE=goals
    )
    assert code == 0, err
    # At the day's end, 23:59 in Madrid: a little more of each period has gone than at 10:00.
    assert goal_lines(out) == [
        "• Q4 2026: 1 of 40 conversions (3%), 44 days left, on pace for 2",
        "• Big deals (Q4 2026): 1,400.00 EUR of 5,000.00 EUR revenue (28%), 44 days left, on pace for 2,627.53 EUR",
        "• November 2026: 2 of 10 referrals (20%), 13 days left, on pace for 3",
        "• November 2026: 1 of 1 conversion (100%, reached), 13 days left, on pace for 2",
        # Short of the target by a little: not rounded up to 100%.
        "• November 2026: 1,400.00 EUR of 1,405.00 EUR revenue (99%), 13 days left, on pace for 2,333.33 EUR",
    ]
    # The quarter before, as it ended: Ben's conversion.
    _, out, _ = await run(tmp_path, "stats", "--goals-on", "2026-09-30", DATABASE_URL=url, PROGRAM_FILE=goals)
    assert "• Q3 2026: 1 of 40 conversions (3%), last day, on pace for 1" in out.splitlines()
    code, out, err = await run(tmp_path, "stats", "--goals-on", "yesterday", DATABASE_URL=url, PROGRAM_FILE=goals)
    assert code == 2 and out == ""
    assert "referral-bot stats: --goals-on 'yesterday' is not a date (write it as YYYY-MM-DD)" in err
    _, out, _ = await run(tmp_path, "stats", "all", DATABASE_URL=operator.url, PROGRAM_FILE=str(no_goals(tmp_path)))
    assert "Goals" not in out.splitlines() and goal_lines(out) == []
    assert "Conversion rate: 66.7%" in out  # the rest of the figures as ever


def with_goals(goals: str) -> str:
    """The example program with these [[goals]] blocks in place of its own, as an operator writes them."""
    text = (ROOT / "program.example.toml").read_text(encoding="utf-8")
    start = text.index("\n[[goals]]") + 1
    return text[:start] + goals + text[text.index("\n\n", start) :]


def goals_file(tmp_path: Path) -> Path:
    """The goals above and two monthly ones."""
    blocks = [
        '[[goals]]\nmetric = "conversions"\ntarget = 40\nperiod = "quarter"',
        '[[goals]]\nname = "Big deals"\nmetric = "revenue"\ntarget = 5000\nperiod = "quarter"',
        '[[goals]]\nmetric = "referrals"\ntarget = 10\nperiod = "month"',
        '[[goals]]\nmetric = "conversions"\ntarget = 1\nperiod = "month"',
        '[[goals]]\nmetric = "revenue"\ntarget = 1405\nperiod = "month"',
    ]
    path = tmp_path / "goals.toml"
    path.write_text(with_goals("\n\n".join(blocks)), encoding="utf-8")
    assert load_program(path).goals[:3] == GOALS
    return path


def no_goals(tmp_path: Path) -> Path:
    path = tmp_path / "no-goals.toml"
    path.write_text(with_goals(""), encoding="utf-8")
    return path


SECOND = '[[goals]]\nmetric = "referrals"\ntarget = 10\nperiod = "month"\n\n'


@pytest.mark.parametrize(
    ("goals", "bad_line", "message"),
    [
        (
            SECOND + '[[goals]]\nmetric = "conversions"\ntarget = 4.5\nperiod = "month"',
            "target = 4.5",
            "field goals.1.target (line {}): Value error, conversions are counted in whole numbers, so the target"
            " cannot be 4.5",
        ),
        (
            SECOND + '[[goals]]\ntarget = 4\nperiod = "month"',
            "[[goals]]\ntarget",
            "field goals.1.metric (line {}): Field required",
        ),
        (
            '[[goals]]\nmetric = "revenue"\ntarget = 0\nperiod = "year"',
            "target = 0",
            "field goals.0.target (line {}): Input should be greater than 0",
        ),
        (
            SECOND + '[[goals]]\nmetric = "signups"\ntarget = 4\nperiod = "month"',
            'metric = "signups"',
            "field goals.1.metric (line {}): Input should be 'referrals', 'conversions' or 'revenue'",
        ),
        (
            SECOND + '[[goals]]\nname = " "\nmetric = "revenue"\ntarget = 9\nperiod = "month"',
            'name = " "',
            "field goals.1.name (line {}): Value error, a goal's name cannot be blank",
        ),
        (
            SECOND + SECOND.replace("10", "20"),
            "[[goals]]",
            "field goals (line {}): Value error, goals 1 and 2 both count referrals per month: keep one of them",
        ),
    ],
    ids=["fraction", "no metric", "zero", "unknown metric", "blank name", "twice"],
)
async def test_check_names_the_line_of_a_bad_goal(tmp_path: Path, goals: str, bad_line: str, message: str) -> None:
    text = with_goals(goals)
    (tmp_path / "program.toml").write_text(text, encoding="utf-8")
    line = text[: text.index("\n" + bad_line) + 1].count("\n") + 1
    code, out, err = await run(tmp_path, "check", PROGRAM_FILE=str(tmp_path / "program.toml"))
    assert code == 2 and out == ""
    assert message.format(line) in " ".join(err.split())
    with pytest.raises(ConfigError, match="goals"):
        load_program(tmp_path / "program.toml")
