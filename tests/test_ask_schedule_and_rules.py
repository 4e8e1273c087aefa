"""Asks on a schedule, passives left out when the program says so, and what `referral-bot check` says about a wrong
[[asks.triggers]]: the line to fix, in one line."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.engagement.ask_triggers import TriggerSweep
from bot.program.rules import Program, load_program
from bot.program.triggers import AskTrigger
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import MAYA, ROOT, Operator, team_bot
from helpers import answer, ask, run, said, start

BACKENDS = ("sqlite", "postgresql")  # the whole story runs on each

EXAMPLE = (ROOT / "program.example.toml").read_text(encoding="utf-8")


def with_asks(program: Program, **changes: object) -> Program:
    return program.model_copy(update={"asks": program.asks.model_copy(update=changes)})


async def test_a_schedule_asks_its_segments_once_per_occurrence(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    weekly = AskTrigger(name="weekly", after="schedule", every="week", weekday="tue", time=time(11, 0))
    async with team_bot(telegram, slack, with_asks(program, triggers=(weekly,)), clock, operator.database) as bot:
        await start(telegram, 1001, "Ana")  # Monday 10:00 in Madrid
        await start(telegram, 1002, "Bea", "es")
        sweep = bot.part(TriggerSweep)
        assert await sweep.sweep() == 0  # last Tuesday's occurrence is long past
        clock.advance(timedelta(days=1, minutes=59))  # Tuesday 10:59
        assert await sweep.sweep() == 0
        clock.advance(timedelta(minutes=1))
        assert await sweep.sweep() == 2
        assert await sweep.sweep() == 0
        assert (await said(telegram, 1001, "Hi Ana!")).startswith("Hi Ana! Happy with Acme Coffee?")
        assert (await said(telegram, 1002, "¿Contento")).startswith("¡Hola, Bea! ¿Contento con Acme Coffee?")
        clock.advance(timedelta(days=7))  # the next Tuesday, within the cooldown
        assert await sweep.sweep() == 0
    outcomes = "SELECT outcome, COUNT(*) AS n FROM ask_triggers GROUP BY outcome ORDER BY outcome"
    assert operator.rows(outcomes) == [{"outcome": "asked", "n": 2}, {"outcome": "cooldown", "n": 2}]
    assert {row["reason"] for row in operator.rows("SELECT reason FROM asks")} == {"trigger:weekly"}


async def test_passives_are_left_out_when_the_program_says_so(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, with_asks(program, ask_passives=False), clock, operator.database):
        await start(telegram, 1001, "Ana")
        await answer(telegram, 1001, "Ana", 7)
        await start(telegram, 1002, "Ben")  # never answered: asked
        dry = await ask(slack, MAYA, "ask customer dry-run")
    assert "1 of 2 in _customer_ would be asked now" in dry
    assert "• lukewarm: scored us 7 or 8 (NPS passive), and the program asks no passives: 1" in dry


TRIGGER = '\n[[asks.triggers]]\nname = "soon"\nafter = "conversion"\ndays = 2\n'


def line_of(text: str, fragment: str) -> int:
    """The first line with `fragment` outside a comment (the example shows triggers in comments)."""
    lines = enumerate(text.splitlines(), start=1)
    return next(number for number, line in lines if fragment in line and not line.startswith("#"))


@pytest.mark.parametrize(
    ("extra", "at", "message"),
    [
        (
            TRIGGER + "min_value = 5\n",
            "min_value = 5",
            '`min_value` does not apply to after = "conversion" (it takes `days`)',
        ),
        (TRIGGER.replace("days = 2", "days = -1"), "days = -1", "Input should be greater than or equal to 0"),
        (TRIGGER.replace('"conversion"', '"birthday"'), "birthday", "Input should be 'conversion', 'purchase' or"),
        (TRIGGER.replace('"soon"', '"Soon!"'), "Soon!", "String should match pattern"),
        (TRIGGER + TRIGGER, "[[asks.triggers]]", "two triggers are named 'soon': give each its own name"),
        (
            TRIGGER.replace('"conversion"\ndays = 2', '"schedule"\nevery = "month"\nweekday = "mon"'),
            'weekday = "mon"',
            'every = "month" takes `day`, not `weekday`',
        ),
        (
            TRIGGER.replace('"conversion"\ndays = 2', '"schedule"'),
            "[[asks.triggers]]",
            'a schedule needs `every`: "week" (with `weekday`) or "month" (with `day`)',
        ),
        (
            TRIGGER.replace('"conversion"\ndays = 2', '"schedule"\nevery = "week"\ntime = "22:30"'),
            "[[asks.triggers]]",
            "trigger 'soon' asks at 22:30, within [asks] quiet_hours: choose a `time` outside them",
        ),
    ],
)
def test_a_wrong_trigger_is_named_with_its_line(tmp_path: Path, extra: str, at: str, message: str) -> None:
    text = EXAMPLE + extra
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_program(path)
    problem = str(caught.value)
    assert f"(line {line_of(text, at)})" in problem and message in problem, problem
    assert problem.startswith(f"program file {path}: field asks.triggers") and "\n" not in problem


def test_the_examples_triggers_load_once_uncommented(tmp_path: Path) -> None:
    lines = EXAMPLE.splitlines()
    first = lines.index("# [[asks.triggers]]")
    last = next(n for n in range(first, len(lines)) if lines[n].startswith("# time = "))
    uncommented = [line.removeprefix("# ") for line in lines[first : last + 1]]
    path = tmp_path / "program.toml"
    path.write_text("\n".join([*lines[:first], *uncommented, *lines[last + 1 :]]), encoding="utf-8")
    triggers = load_program(path).asks.triggers
    assert [trigger.describe() for trigger in triggers] == [
        "3 days after a referral of theirs converts",
        "1 day after a purchase of at least 20",
        "every month on day 1 at 10:00",
    ]


async def test_check_names_the_line_of_a_wrong_trigger(tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    path.write_text(EXAMPLE + TRIGGER.replace("days = 2", 'days = 2\nweekday = "mon"'), encoding="utf-8")
    status, _, err = await run(tmp_path, "check", PROGRAM_FILE=str(path))
    assert status == 2
    number = line_of(path.read_text(encoding="utf-8"), 'weekday = "mon"')
    expected = (
        f'field asks.triggers.0.weekday (line {number}): Value error, `weekday` does not apply to after = "conversion"'
    )
    assert expected in " ".join(err.split())
