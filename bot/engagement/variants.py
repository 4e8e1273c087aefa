"""A/B copy's results: whether one variant converts better than another (which variant a customer sees is
bot/program/ab_copy.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.reports.stats import Period
from bot.reports.tallies import Counts, counts_by_variant
from storage.base import Store

SIGNIFICANCE = 0.05  # two-sided: "significant at 95%"


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def two_proportion_z_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> ZTest | None:
    """Pooled two-proportion z-test, two-sided; None when either side has no trials or nothing varies."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if spread == 0:
        return None
    z = (successes_a / trials_a - successes_b / trials_b) / spread
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class VariantFigures:
    name: str
    customers: int
    shares: int
    arrivals: int
    conversions: int
    versus_best: ZTest | None = None  # conversion rate of arrivals against the best variant's
    best: bool = False

    @property
    def conversion_rate(self) -> float | None:
        """None while nobody has arrived: the templates say "n/a", not 0%."""
        return self.conversions / self.arrivals if self.arrivals else None


async def variant_figures(
    store: Store,
    period: Period,
    names: Sequence[str],
    by_variant: dict[str, Counts] | None = None,
    members: dict[str | None, int] | None = None,
) -> list[VariantFigures]:
    """Shares, arrivals and conversions per variant in a period, best first.

    `names` are the program's variants, shown even before anyone is in them; variants found only in the
    data (since removed from the program) are shown too."""
    if by_variant is None:
        by_variant = await counts_by_variant(store, period.since)
    counts = {name: c for name, c in by_variant.items() if name}
    if members is None:  # customers per variant: read by the caller when the K-factor needs them too
        members = await store.customers_by_variant()
    shown = {name for name, c in counts.items() if c.shares or c.arrived}
    every = list(dict.fromkeys([*names, *sorted(shown)]))
    figures = [_figures(name, members.get(name, 0), counts.get(name, Counts())) for name in every]
    return _compared(figures)


def _figures(name: str, customers: int, counts: Counts) -> VariantFigures:
    return VariantFigures(name, customers, counts.shares, counts.arrived, counts.converted)


def _compared(figures: list[VariantFigures]) -> list[VariantFigures]:
    """The best conversion rate first; every other variant carries its test against the best."""
    ranked = sorted(figures, key=lambda f: (-(f.conversion_rate or 0.0), -f.arrivals))
    if not ranked:
        return ranked
    best = ranked[0]  # with no arrivals at all, none is crowned: there is nothing to be best at
    tested = [
        VariantFigures(
            f.name,
            f.customers,
            f.shares,
            f.arrivals,
            f.conversions,
            two_proportion_z_test(best.conversions, best.arrivals, f.conversions, f.arrivals),
        )
        for f in ranked[1:]
    ]
    crowned = VariantFigures(
        best.name, best.customers, best.shares, best.arrivals, best.conversions, best=best.arrivals > 0
    )
    return [crowned, *tested]
