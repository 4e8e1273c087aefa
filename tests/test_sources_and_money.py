"""Where referrals come from and what they are worth: friends arriving through each path (plain link, inline card,
QR code, copied link, a direct referral, after an ask campaign and after an NPS promoter's ask), converted with deal
values through the Slack modal, their rewards issued, then the figures a manager reads in `/referrals stats`,
`stats sources` and `stats money`, and an operator in `referral-bot stats`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.engine import Engine
from bot.program.economics import Economics
from bot.program.rules import Program
from bot.program.sections import RewardRule
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import SlackMessage
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, RITA, ROOT, Operator, eventually, team_bot
from helpers import answer, ask, converse, run, start

BACKENDS = ("sqlite", "postgresql")
BREAK_EVEN = (
    "*Break-even*: *2* conversions a month pay for the program · January 2026 so far: *3* of 2 (150%), 27 days left"
)


@pytest.fixture
def program(program: Program) -> Program:
    """A manual bag of beans worth 20 for the referrer, 10 EUR credit for the friend, and the program's economics:
    500 a month, a customer worth 400 and a referred one 25% more."""
    incentives = program.incentives.model_copy(
        update={
            "referrer": RewardRule(en="a free bag of beans", kind="manual", cost=Decimal(20)),
            "friend": RewardRule(en="10 EUR credit", kind="credit", amount=Decimal(10)),
        }
    )
    economics = Economics(
        monthly_cost=Decimal(500), average_customer_value=Decimal(400), referred_value_uplift_percent=Decimal(25)
    )
    return program.model_copy(update={"incentives": incentives, "economics": economics})


async def arrive(telegram: TelegramEmulator, slack: SlackEmulator, user_id: int, name: str, payload: str) -> None:
    before = len(slack.messages(ALERTS))
    await telegram.open_deep_link(telegram.user(user_id, name), payload)
    await slack.wait_for(lambda: len(slack.messages(ALERTS)) > before, what=f"{name}'s alert")


def alert_for(slack: SlackEmulator, name: str) -> SlackMessage:
    return next(m for m in slack.messages(ALERTS) if m.text.startswith("New referral") and name in m.plain())


async def convert(slack: SlackEmulator, operator: Operator, name: str, value: str) -> None:
    """Rita claims the friend's alert, contacts them and converts them, typing the deal value in the modal."""
    converted = operator.count("referrals WHERE status = 'converted'")
    for action in ("referral_claim", "referral_contacted", "referral_converted"):
        await slack.click(RITA, alert_for(slack, name), action)
    modal = slack.views(RITA)[-1]
    await slack.submit_view(RITA, modal["id"], {"answer": {"value": value}})
    await eventually(lambda: operator.count("referrals WHERE status = 'converted'") == converted + 1)
    await eventually(lambda: operator.count("rewards WHERE status = 'issued'") == 2 * (converted + 1))


async def refer_directly(telegram: TelegramEmulator, welcome_chat: int) -> None:
    """Ana refers Zoe by e-mail with /refer, and confirms she may be contacted."""
    # Nothing else on its way to Ana: her welcome, QR code, the campaign's ask and four thank-yous.
    before = len(await telegram.wait_for_messages(welcome_chat, 7))
    await telegram.send_command(telegram.user(welcome_chat, "Ana"), "refer")
    await telegram.wait_for_messages(welcome_chat, before + 1)  # "What is your friend's name?"
    await converse(telegram, welcome_chat, "Zoe", "zoe@example.com")
    (confirm,) = await converse(telegram, welcome_chat, "Runs an office of 12")
    await telegram.press_button(telegram.user(welcome_chat, "Ana"), confirm, "d:yes")


async def the_story(telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator) -> None:
    """Ana's friends: Ben by her plain link, Cleo by the inline card, Dan by the QR code she showed; then a campaign
    asks Ana, and Eve arrives by her link and Zoe is referred directly. Fay scores 10, is asked as a promoter, and
    Gus arrives by the link she copied. Ben (950), Eve (1,200) and Gus (400) convert."""
    code, welcome = await start(telegram, 1001, "Ana")
    qr = next(b for b in welcome.buttons() if "QR" in b["text"])
    await telegram.press_button(telegram.user(1001, "Ana"), welcome, str(qr["callback_data"]))  # a share the bot sees
    await arrive(telegram, slack, 2001, "Ben", code)
    await arrive(telegram, slack, 2002, "Cleo", f"{code}_i")
    await arrive(telegram, slack, 2003, "Dan", f"{code}_q")
    assert (await ask(slack, MAYA, "ask customer")).startswith("*Asked 1 of 1* in _customer_")
    await arrive(telegram, slack, 2004, "Eve", code)
    before = len(slack.messages(ALERTS))
    await refer_directly(telegram, 1001)
    await slack.wait_for(lambda: len(slack.messages(ALERTS)) > before, what="Zoe's alert")
    fay, _ = await start(telegram, 1002, "Fay")
    await answer(telegram, 1002, "Fay", 10)
    await arrive(telegram, slack, 2005, "Gus", f"{fay}_c")
    await convert(slack, operator, "Ben", "950")
    await convert(slack, operator, "Eve", "1.200,00")
    await convert(slack, operator, "Gus", "400")


async def test_stats_show_each_source_and_what_referrals_are_worth(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator
) -> None:
    await the_story(telegram, slack, operator)
    summary = (await ask(slack, MAYA, "stats")).splitlines()
    assert "Asked 2 → shared 1 → arrived 6 → claimed 3 → contacted 3 → converted 3" in summary
    # 2 invitations (the QR code shown, Zoe referred) over 7 customers, × 3 of 6 arrivals converting
    assert "Conversion rate: *50.0%*" in summary
    assert "K-factor: *0.14* (0.29 invitations per customer × 50.0% of arrivals converting)" in summary
    assert (
        "*Top sources*: Plain link 2 (2 converted) · Copied link 1 (1 converted) · Direct referral 1 (0 converted)"
        " — `/referrals stats sources`"
    ) in summary
    # 3 conversions, each with a bag of beans (20) and a friend's credit (10); ROI = 2,460 / 90
    assert (
        "*Money*: revenue *2,550.00 EUR* · rewards 90.00 EUR · net *2,460.00 EUR* · ROI *2,733%*"
        " — `/referrals stats money`"
    ) in summary
    # 500 a month over (400 + 25% − 30 in rewards) = 1.06: 2 conversions; 5 January leaves 27 days of the month
    assert BREAK_EVEN in summary

    sources = await ask(slack, MAYA, "stats sources")
    assert sources.splitlines() == [
        "*Where referrals come from, last 30d*",
        "*By channel* (how the link travelled)",
        "• Plain link: arrived *2* · converted *2* (100.0%) · revenue 2,150.00 EUR",
        "• Copied link: arrived *1* · converted *1* (100.0%) · revenue 400.00 EUR",
        "• Direct referral: arrived *1* · converted *0* (0.0%)",
        "• Inline card: arrived *1* · converted *0* (0.0%)",
        "• QR code: arrived *1* · converted *0* (0.0%)",
        "*By ask* (the referrer's latest ask within the 30-day attribution window)",
        "• Not asked: arrived *3* · converted *1* (33.3%) · revenue 950.00 EUR",
        "• Ask to customer, 2026-01-05: asked 1 · arrived *2* · converted *1* (50.0%) · revenue 1,200.00 EUR",
        "• NPS promoter ask: asked 1 · arrived *1* · converted *1* (100.0%) · revenue 400.00 EUR",
        "The money: `/referrals stats money 30d`",
    ]

    money = await ask(slack, MAYA, "stats money all")
    assert money.splitlines() == [
        "*Money, all time* (the referrals that arrived in the period)",
        "Revenue: *2,550.00 EUR* from 3 conversions",
        "Rewards issued: *90.00 EUR*",
        "Net: *2,460.00 EUR* · ROI *2,733%*",
        "*By channel*: revenue less rewards, where there was either",
        "• Plain link: 2,150.00 EUR − 60.00 EUR = *2,090.00 EUR*",
        "• Copied link: 400.00 EUR − 30.00 EUR = *370.00 EUR*",
        "*By ask*",
        "• Not asked: 950.00 EUR − 30.00 EUR = *920.00 EUR*",
        "• Ask to customer, 2026-01-05: 1,200.00 EUR − 30.00 EUR = *1,170.00 EUR*",
        "• NPS promoter ask: 400.00 EUR − 30.00 EUR = *370.00 EUR*",
        BREAK_EVEN,
        "(500.00 EUR a month over 470.00 EUR a conversion: a referred customer's 500.00 EUR less 30.00 EUR in rewards)",
    ]
    assert await ask(slack, MAYA, "stats money fortnight") == (
        "I did not understand the period fortnight. Use 7d, 30d, 90d or all."
    )
    # each figure is defined in the help a manager reads
    terms = (await ask(slack, MAYA, "help")).split("*In the stats*\n")[1].splitlines()
    assert [term.split(":")[0] for term in terms] == [
        "• _Asked_",
        "• _K-factor_",
        "• _Source_",
        "• _ROI_",
        "• _Break-even_",
    ]
    assert terms[1].startswith("• _K-factor_: invitations sent per customer (the shares the bot sees plus direct")


async def test_credit_moved_to_another_link_moves_the_source_and_a_recount_agrees(
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    clock: FakeClock,
    operator: Operator,
    program: Program,
    tmp_path: Path,
) -> None:
    last_touch = program.attribution.model_copy(update={"model": "last_touch"})
    async with team_bot(
        telegram, slack, program.model_copy(update={"attribution": last_touch}), clock, operator.database
    ):
        ana, _ = await start(telegram, 1001, "Ana")
        fay, _ = await start(telegram, 1002, "Fay")
        await arrive(telegram, slack, 2001, "Ben", f"{ana}_q")
        await answer(telegram, 1002, "Fay", 10)  # Fay is asked to refer, as a promoter
        await telegram.open_deep_link(telegram.user(2001, "Ben"), f"{fay}_i")  # the credit moves to Fay's card
        await eventually(lambda: operator.rows("SELECT referrer_id FROM referrals") == [{"referrer_id": 1002}])
        moved = [
            "*By channel* (how the link travelled)",
            "• Inline card: arrived *1* · converted *0* (0.0%)",
            "*By ask* (the referrer's latest ask within the 30-day attribution window)",
            "• NPS promoter ask: asked 1 · arrived *1* · converted *0* (0.0%)",
        ]
        assert (await ask(slack, MAYA, "stats sources all")).splitlines()[1:5] == moved
        code, _, err = await run(tmp_path, "recount", DATABASE_URL=operator.url)  # counted again from the rows
        assert code == 0, err
        assert (await ask(slack, MAYA, "stats sources all")).splitlines()[1:5] == moved


async def test_the_terminal_shows_the_same_breakdowns(
    team: Engine, telegram: TelegramEmulator, slack: SlackEmulator, operator: Operator, tmp_path: Path
) -> None:
    code, _ = await start(telegram, 1001, "Ana")
    await arrive(telegram, slack, 2001, "Ben", f"{code}_s")
    await convert(slack, operator, "Ben", "80")
    status, out, err = await run(tmp_path, "stats", "sources", "all", DATABASE_URL=operator.url)
    assert status == 0, err
    assert out.splitlines() == [
        "Where referrals come from, all time",
        "By channel (how the link travelled)",
        "• Share page: arrived 1 · converted 1 (100.0%) · revenue 80.00 EUR",
        "By ask (the referrer's latest ask within the 30-day attribution window)",
        "• Not asked: arrived 1 · converted 1 (100.0%) · revenue 80.00 EUR",
        "The money: referral-bot stats money all",
    ]
    status, out, _ = await run(tmp_path, "stats", "money", "all", DATABASE_URL=operator.url)
    assert status == 0 and "Net: 50.00 EUR · ROI 167%" in out.splitlines()  # 80 less 20 + 10 in rewards
    status, out, _ = await run(tmp_path, "stats", "all", DATABASE_URL=operator.url)
    assert status == 0 and "Asked 0 → shared 0 → arrived 1 → claimed 1 → contacted 1 → converted 1" in out
    assert "Money: revenue 80.00 EUR · rewards 30.00 EUR · net 50.00 EUR · ROI 167% — referral-bot stats money" in out
    status, _, err = await run(tmp_path, "stats", "7d", "money", DATABASE_URL=operator.url)
    assert status == 2 and "'7d' is not sources or money, so 'money' has no place after it" in err


def _program_file(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The example program with one line changed; and that line's number."""
    text = (ROOT / "program.example.toml").read_text(encoding="utf-8")
    assert text.count(f"\n{old}\n") == 1
    changed = text.replace(f"\n{old}\n", f"\n{new}\n")
    path = tmp_path / "program.toml"
    path.write_text(changed, encoding="utf-8")
    return path, changed.splitlines().index(new) + 1


@pytest.mark.parametrize(
    ("old", "new", "problem", "above"),
    [
        ("average_customer_value = 450", "average_customer_value = -5", "economics.average_customer_value", 0),
        ("monthly_cost = 300", "monthly_cost = 'a lot'", "economics.monthly_cost", 0),
        ("referred_value_uplift_percent = 25", "referred_value_uplift_percent = 2000", "uplift_percent", 0),
        # the referrer's reward is a text reward: its section's line is named, four lines up
        ("cost = 18", "value = 18", "a text reward states what it costs with `cost`: leave the other key out", 4),
    ],
)
async def test_check_names_the_line_of_a_bad_value(
    tmp_path: Path, old: str, new: str, problem: str, above: int
) -> None:
    path, line = _program_file(tmp_path, old, new)
    status, _, err = await run(tmp_path, "check", PROGRAM_FILE=str(path))
    assert status == 2
    message = next(text for text in err.splitlines() if "program file" in text)
    assert problem in message and f"(line {line - above})" in message, message


async def test_rewards_without_a_value_are_named_and_no_economics_means_no_break_even(
    telegram: TelegramEmulator, slack: SlackEmulator, clock: FakeClock, operator: Operator, program: Program
) -> None:
    free_gift = program.incentives.model_copy(update={"friend": RewardRule(en="15% off your first order")})
    unpriced = program.model_copy(update={"incentives": free_gift, "economics": None})
    async with team_bot(telegram, slack, unpriced, clock, operator.database):
        code, _ = await start(telegram, 1001, "Ana")
        await arrive(telegram, slack, 2001, "Ben", code)
        await convert(slack, operator, "Ben", "100")
        money = (await ask(slack, MAYA, "stats money")).splitlines()
    assert money[2:4] == [
        "Rewards issued: *20.00 EUR* (:warning: 1 issued reward has no value in the program file and is left out)",
        "Net: *80.00 EUR* · ROI *400%*",
    ]
    assert money[-1] == (
        "Break-even: add `[economics]` to the program file to see how many conversions a month pay for the program."
    )


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("monthly_cost = 300", "monthly_cost = 0", "the program has no monthly cost, so every conversion pays"),
        (
            "average_customer_value = 450",
            "average_customer_value = 10",
            # 25 + 18 in rewards against 10 and a quarter more
            "never: one conversion's rewards (43.00 EUR) cost more than a referred customer is worth (12.50 EUR)",
        ),
    ],
)
async def test_break_even_says_when_no_number_of_conversions_is_needed_or_enough(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    path, _ = _program_file(tmp_path, old, new)
    status, out, err = await run(tmp_path, "stats", "money", PROGRAM_FILE=str(path))
    assert status == 0, err
    assert out.splitlines()[-1].startswith(f"Break-even: {said} · ")
