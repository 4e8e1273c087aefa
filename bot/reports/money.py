"""What referrals are worth: the revenue they brought (the sum of their deal values), what their rewards cost (each
issued reward as the program file valued it), net and ROI; and, with `[economics]` in the program file, how many
conversions a month pay for the program and where this month stands against that."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.program.rules import Program
from bot.reports.goals import Span, span_of
from bot.reports.sources import Sources
from storage.base import Store

_INSTANT = timedelta(microseconds=1)  # stored moments' precision: a conversion stored at `now` counts


@dataclass(frozen=True)
class Money:
    """Of the referrals that arrived in the period: what they brought and what their rewards cost."""

    revenue: Decimal
    conversions: int
    reward_cost: Decimal
    unpriced_rewards: int  # issued rewards the program file gave no value: the cost leaves them out

    @property
    def net(self) -> Decimal:
        return self.revenue - self.reward_cost

    @property
    def roi(self) -> float | None:
        """Net over the rewards' cost; None while nothing was spent."""
        return float(self.net / self.reward_cost) if self.reward_cost else None


def money(found: Sources) -> Money:
    total = found.total
    revenue, cost = (Decimal(cents) / 100 for cents in (total.revenue_cents, total.reward_cents))
    return Money(revenue, total.converted, cost, total.unpriced_rewards)


@dataclass(frozen=True)
class BreakEven:
    """How many conversions a month pay for the program: its monthly cost over what each conversion earns (a
    referred customer's value less the rewards of one conversion); and this month so far."""

    month: str  # "December 2026", in the business_hours time zone
    monthly_cost: Decimal
    customer_value: Decimal  # a referred customer's, the uplift included
    reward_cost: Decimal  # both sides' rewards of one conversion, as the default segment earns them
    needed: int | None  # None: a conversion costs more in rewards than it is worth, so no number pays
    converted: int
    days_left: int  # today included
    span: Span | None = None  # the month, for a language that names it itself

    @property
    def percent(self) -> int | None:
        """This month's conversions against those needed; None when nothing is needed."""
        return round(100 * self.converted / self.needed) if self.needed else None


def conversion_reward_cost(program: Program) -> Decimal:
    """The rewards one conversion costs: the referrer's and the friend's, as a referrer in the default segment
    earns them (tier bonuses aside); a reward without a stated value counts as nothing."""
    sides = (program.incentives.for_side(program.segments.default, role) for role in ("referrer", "friend"))
    return sum((rule.worth or Decimal(0) for rule in sides), Decimal(0))


async def break_even(store: Store, program: Program, now: datetime) -> BreakEven | None:
    """None without `[economics]` in the program file."""
    economics = program.economics
    if economics is None:
        return None
    span = span_of("month", now, ZoneInfo(program.business_hours.timezone))
    converted, _ = await store.conversions_between(span.start, min(span.end, now.astimezone(UTC) + _INSTANT))
    value, rewards = economics.referred_customer_value, conversion_reward_cost(program)
    margin = value - rewards
    needed = 0 if not economics.monthly_cost else math.ceil(economics.monthly_cost / margin) if margin > 0 else None
    days_left = (span.end.date() - now.astimezone(span.start.tzinfo).date()).days
    return BreakEven(span.label, economics.monthly_cost, value, rewards, needed, converted, days_left, span)
