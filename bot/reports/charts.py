"""The two charts managers would rather look at than read, as PNG: the funnel of a period (the stages of
`/referrals stats`, asked to converted) and its weeks (arrivals, conversions and revenue), each with a one-line alt
text a screen reader reads instead. `/referrals stats chart`, the App Home dashboard and `referral-bot stats --chart`
show these; any other page gets them with one call:

    charts = await render_charts(store, program, renderer, "fa", clock.now(), "52w")

The figures are read on the event loop; the drawing (about a fifth of a second a chart) runs in a worker thread, so
arrivals and clicks are never kept waiting behind it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from bot.program.rules import Program
from bot.reports.chart_data import DEFAULT_CHART_PERIOD, ChartFigures, ChartPeriod, chart_figures, parse_chart_period
from bot.reports.chart_words import FunnelDrawing, TrendDrawing, Words, funnel_alt, funnel_drawing, trend_alt
from bot.reports.chart_words import trend_drawing as trend_words
from messages import Renderer
from storage.base import Store

__all__ = ["DEFAULT_CHART_PERIOD", "Chart", "ChartPeriod", "draw_charts", "parse_chart_period", "render_charts"]


@dataclass(frozen=True)
class Chart:
    name: str  # "funnel" or "trend"
    title: str
    alt: str  # one line that says what the picture shows, for a screen reader
    png: bytes
    texts: tuple[str, ...]  # every text on the picture, in reading order (matplotlib lays Persian out right to left)


async def render_charts(
    store: Store,
    program: Program,
    renderer: Renderer,
    locale: str,
    now: datetime,
    period: str | ChartPeriod = DEFAULT_CHART_PERIOD,
) -> list[Chart]:
    """Both charts of the period (12w, 52w, 30d, all...), worded in `locale`: the funnel, then the weeks.
    Raises ValueError for a period that is none (parse_chart_period says so first, for a person's input)."""
    chosen = period if isinstance(period, ChartPeriod) else parse_chart_period(period, now)
    if chosen is None:
        raise ValueError(f"{period!r} is not a chart period: use such as 12w, 52w, 30d or all")
    return await draw_charts(await chart_figures(store, chosen, program.program.currency), renderer, locale)


async def draw_charts(figures: ChartFigures, renderer: Renderer, locale: str) -> list[Chart]:
    """The charts of figures already read: worded here, drawn in a worker thread."""
    words = Words(renderer, locale)
    funnel, trend = funnel_drawing(figures, words), trend_words(figures, words)
    pictures = await asyncio.to_thread(_draw, funnel, trend)
    alts = (funnel_alt(figures, words), trend_alt(figures, words))
    titles = (funnel.title, trend.title)
    names = ("funnel", "trend")
    return [
        Chart(name, title, alt, png, texts)
        for name, title, alt, (png, texts) in zip(names, titles, alts, pictures, strict=True)
    ]


def _draw(funnel: FunnelDrawing, trend: TrendDrawing) -> list[tuple[bytes, tuple[str, ...]]]:
    # Imported here: matplotlib takes half a second to load, and most runs of the bot never draw a chart.
    from bot.reports.chart_draw import draw_funnel, draw_trend

    return [(drawn.png, drawn.texts) for drawn in (draw_funnel(funnel), draw_trend(trend))]
