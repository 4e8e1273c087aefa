"""`[[goals]]` in program.toml (playbook step 2, set your goals): what the program should reach in a calendar month
or quarter. bot/reports/goals.py measures the progress the team reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from bot.program.sections import Frozen

Metric = Literal["referrals", "conversions", "revenue"]
GoalPeriod = Literal["month", "quarter"]
GOALS_MAX = 10  # each is a line of every stats answer and of the dashboard


class Goal(Frozen):
    """`metric`: referrals (friends who arrived), conversions, or revenue (the deal values of the conversions, in
    [program] currency); `target` for each `period`, a calendar month or quarter in the business_hours time zone."""

    metric: Metric
    target: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    period: GoalPeriod
    name: str | None = Field(default=None, max_length=40)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a goal's name cannot be blank: leave `name` out to call it by its period")
        return value.strip() if value is not None else None

    @field_validator("target")
    @classmethod
    def _whole_counts(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        metric = info.data.get("metric", "revenue")  # absent when it was refused itself
        if metric != "revenue" and value != value.to_integral_value():
            raise ValueError(f"{metric} are counted in whole numbers, so the target cannot be {value}")
        return value


def _one_per_metric_and_period(goals: tuple[Goal, ...]) -> tuple[Goal, ...]:
    seen: dict[tuple[str, str], int] = {}
    for number, goal in enumerate(goals, start=1):
        earlier = seen.setdefault((goal.metric, goal.period), number)
        if earlier != number:
            raise ValueError(
                f"goals {earlier} and {number} both count {goal.metric} per {goal.period}: keep one of them"
            )
    return goals


Goals = Annotated[tuple[Goal, ...], Field(max_length=GOALS_MAX), AfterValidator(_one_per_metric_and_period)]
