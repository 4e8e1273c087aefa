"""The charts put into words: each chart's labels, numbers and alt text in one locale (messages/<locale>/charts.toml),
as drawings bot/reports/chart_draw.py turns into pictures. Nothing here imports matplotlib."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bot.reports.chart_data import TEAM_STAGES, ChartFigures, ChartPeriod
from messages import Renderer
from messages.renderer import RTL_LOCALES

Number = Callable[[float], str]


@dataclass(frozen=True)
class Bar:
    label: str  # the stage's name
    value: int
    shown: str  # what is written at the bar's end: the count, and for the team's steps their share of arrivals
    team: bool  # a step the sales team takes, drawn apart from what customers do


@dataclass(frozen=True)
class FunnelDrawing:
    title: str
    axis: str
    bars: tuple[Bar, ...]
    number: Number
    language: str  # the words' locale
    rtl: bool


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]
    last: str  # the latest value, as written beside the line or bar


@dataclass(frozen=True)
class TrendDrawing:
    title: str
    weeks: tuple[str, ...]  # each week's label, oldest first
    arrivals: Series
    conversions: Series
    revenue: Series
    week_axis: str
    note: str
    number: Number
    language: str  # the words' locale
    rtl: bool


class Words:
    """The charts' words in one locale, and how it writes numbers (its digits and separators)."""

    def __init__(self, renderer: Renderer, locale: str) -> None:
        self._renderer, self.locale, self.rtl = renderer, locale, locale in RTL_LOCALES
        strings = renderer.strings(locale, "charts")
        digits = strings["digits"]
        self._digits = str.maketrans("0123456789", digits) if len(digits) == 10 else {}
        self._thousands, self._decimal = strings["thousands"], strings["decimal"]

    def __call__(self, key: str, **context: Any) -> str:
        return self._renderer.string(self.locale, "charts", key, **context)

    def number(self, value: float, places: int = 0) -> str:
        text = f"{value:,.{places}f}".replace(",", "\0").replace(".", self._decimal).replace("\0", self._thousands)
        return text.translate(self._digits)

    def count(self, value: float) -> str:
        return self.number(value)  # one argument: what an axis's tick formatter calls

    def percent(self, share: float) -> str:
        return self("percent", value=self.number(share * 100, 1))

    def money(self, amount: Decimal) -> str:
        """Whole units unless there are cents to show."""
        return self.number(float(amount), 0 if amount == amount.to_integral_value() else 2)

    def day(self, day: date) -> str:
        return day.isoformat().translate(self._digits)

    def period(self, period: ChartPeriod) -> str:
        if period.weeks is not None:
            return self("period_weeks", n=self.number(period.weeks))
        if period.days is not None:
            return self("period_days", n=self.number(period.days))
        return self("period_all")


def funnel_drawing(figures: ChartFigures, words: Words) -> FunnelDrawing:
    arrived = figures.count("arrived")
    bars = []
    for stage, count in figures.funnel:
        shown = words.number(count)
        if stage in TEAM_STAGES and stage != "arrived" and arrived:
            shown = words("of_arrivals", count=shown, share=words.percent(count / arrived))
        bars.append(Bar(words(stage), count, shown, stage in TEAM_STAGES))
    title = words("funnel_title", period=words.period(figures.period))
    return FunnelDrawing(title, words("funnel_axis"), tuple(bars), words.count, words.locale, words.rtl)


def funnel_alt(figures: ChartFigures, words: Words) -> str:
    arrived = figures.count("arrived")
    rate = words.percent(figures.count("converted") / arrived) if arrived else ""
    counts = {stage: words.number(count) for stage, count in figures.funnel}
    return words("funnel_alt", period=words.period(figures.period), rate=rate, **counts)


def trend_drawing(figures: ChartFigures, words: Words) -> TrendDrawing:
    weeks, latest = figures.weeks, figures.weeks[-1]
    arrivals = Series(words("arrivals"), tuple(float(w.arrived) for w in weeks), words.number(latest.arrived))
    conversions = Series(words("conversions"), tuple(float(w.converted) for w in weeks), words.number(latest.converted))
    revenue = Series(
        words("revenue", currency=figures.currency), tuple(float(w.revenue) for w in weeks), words.money(latest.revenue)
    )
    return TrendDrawing(
        title=words("trend_title", period=words.period(figures.period)),
        weeks=tuple(words.day(week.start) for week in weeks),
        arrivals=arrivals,
        conversions=conversions,
        revenue=revenue,
        week_axis=words("week_axis"),
        note=words("trend_note"),
        number=words.count,
        language=words.locale,
        rtl=words.rtl,
    )


def trend_alt(figures: ChartFigures, words: Words) -> str:
    weeks = figures.weeks
    busiest = max(weeks, key=lambda week: week.arrived)  # the first of equals
    revenue = sum((week.revenue for week in weeks), Decimal(0))
    return words(
        "trend_alt",
        period=words.period(figures.period),
        weeks=words.number(len(weeks)),
        first=words.day(weeks[0].start),
        arrived=words.number(sum(week.arrived for week in weeks)),
        converted=words.number(sum(week.converted for week in weeks)),
        revenue=f"{words.money(revenue)} {figures.currency}".strip(),
        peak=words.day(busiest.start) if busiest.arrived else "",
        peak_arrived=words.number(busiest.arrived),
    )
