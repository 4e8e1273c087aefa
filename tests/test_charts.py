"""The charts: the funnel and the weeks as PNG pictures with their alt text, worded per locale, read from the report
tallies on every backend, and written by `referral-bot stats --chart`."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.textpath import TextToPath

from bot.core.clock import FakeClock
from bot.core.figures import DayCounts
from bot.program.rules import Program
from bot.reports.chart_data import ChartFigures, Week, parse_chart_period, weekly
from bot.reports.chart_draw import FONT, HEIGHT, WIDTH
from bot.reports.charts import draw_charts, render_charts
from messages import Renderer
from storage import open_store
from storage.base import Store

from conftest import Operator
from helpers import run

BACKENDS = ("sqlite", "postgresql")  # the storage tests run on each; the drawing ones once
NOW = datetime(2026, 1, 7, 15, 30, tzinfo=UTC)  # a Wednesday
FUNNEL = (("asked", 120), ("shared", 300), ("arrived", 1000), ("claimed", 900), ("contacted", 800), ("converted", 220))


def size(png: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its header chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def figures(period: str = "12w", weeks: tuple[Week, ...] | None = None) -> ChartFigures:
    chosen = parse_chart_period(period, NOW)
    assert chosen is not None
    if weeks is None:
        days = [DayCounts("2025-12-30", 7, 2, 95_000), DayCounts("2026-01-06", 3, 1, 1_050)]
        weeks = weekly(days, chosen)
    return ChartFigures(chosen, FUNNEL, weeks, "EUR")


async def test_the_funnel_shows_every_stage_with_its_count_and_share_of_arrivals() -> None:
    funnel, trend = await draw_charts(figures(), Renderer(), "en")
    assert (funnel.name, trend.name) == ("funnel", "trend")
    assert size(funnel.png) == size(trend.png) == (WIDTH, HEIGHT)
    assert funnel.title == "Referral funnel, last 12 weeks"
    for text in ("Asked", "Shared", "Arrived", "Claimed", "Contacted", "Converted", "120", "300", "1,000"):
        assert text in funnel.texts
    for text in ("900 (90.0% of arrivals)", "800 (80.0% of arrivals)", "220 (22.0% of arrivals)"):
        assert text in funnel.texts
    assert funnel.alt == (
        "Referral funnel, last 12 weeks: asked 120, shared 300, arrived 1,000, claimed 900, contacted 800,"
        " converted 220 (22.0% of arrivals)."
    )


async def test_the_weeks_show_arrivals_conversions_and_revenue_named_beside_their_lines() -> None:
    _, trend = await draw_charts(figures(), Renderer(), "en")
    assert trend.title == "Week by week, last 12 weeks"
    # named at the latest week's values: no legend whose colours must be matched
    assert {"Arrivals: 3", "Conversions: 1", "Revenue (EUR): 10.50"} <= set(trend.texts)
    assert {"Week starting (UTC)", "2026-01-05"} <= set(trend.texts)
    assert trend.alt == (
        "Week by week, last 12 weeks, 12 weeks from 2025-10-20: 10 arrivals, 3 conversions, 960.50 EUR revenue;"
        " the busiest week began 2025-12-29 with 7 arrivals."
    )


async def test_a_year_is_52_weekly_points_and_nothing_counted_still_draws() -> None:
    chosen = parse_chart_period("52w", NOW)
    assert chosen is not None
    year = weekly([DayCounts("2025-01-12", 9, 9, 900), DayCounts("2025-01-13", 1, 0, 0)], chosen)
    assert len(year) == 52 and year[0] == Week(date(2025, 1, 13), 1, 0, Decimal(0))  # the Sunday before is out
    _, trend = await draw_charts(figures("52w", year), Renderer(), "en")
    assert trend.alt.startswith("Week by week, last 52 weeks, 52 weeks from 2025-01-13: 1 arrival, 0 conversions,")
    everything = parse_chart_period("all", NOW)
    assert everything is not None
    _, trend = await draw_charts(figures("all", weekly([], everything)), Renderer(), "es")
    assert size(trend.png) == (WIDTH, HEIGHT)
    assert trend.alt == (
        "Semana a semana, desde el principio, 1 semana desde el 2026-01-05: 0 llegadas, 0 conversiones,"
        " 0 EUR de ingresos."
    )


def test_a_chart_period_is_weeks_or_a_stats_period() -> None:
    twelve = parse_chart_period("", NOW)
    assert twelve is not None and twelve.label == "12w"
    assert (twelve.first_week, twelve.last_week) == (date(2025, 10, 20), date(2026, 1, 5))
    assert twelve.since == datetime(2025, 10, 20, tzinfo=UTC)  # the funnel counts what the weeks count
    month = parse_chart_period("30d", NOW)
    assert month is not None and month.first_week == date(2025, 12, 8)
    assert month.since == datetime(2025, 12, 8, 15, 30, tzinfo=UTC)
    everything = parse_chart_period("ALL", NOW)
    assert everything is not None and everything.since is None and everything.first_week is None
    for word in ("fortnight", "0w", "521w", "-3w", "w"):
        assert parse_chart_period(word, NOW) is None


def laid_out(text: str) -> list[tuple[int, float]]:
    """The glyphs the charts' font draws for `text` in Persian, left to right: (glyph index, x)."""
    font = get_font(findfont(FontProperties(family=FONT)))
    glyphs, _, _ = TextToPath().get_glyphs_with_font(font, text, language="fa")
    return sorted(((int(name.rsplit("-", 1)[1], 16), x) for name, x, _, _ in glyphs), key=lambda glyph: glyph[1])


async def test_persian_charts_are_worded_in_persian_and_drawn_joined_right_to_left() -> None:
    funnel, trend = await draw_charts(figures(), Renderer(), "fa")
    assert funnel.title == "قیف معرفی‌ها، ۱۲ هفتهٔ گذشته"
    assert {"درخواست‌شده", "رسیده", "مشتری‌شده", "۱٬۰۰۰", "۲۲۰ (۲۲٫۰٪ از رسیده‌ها)"} <= set(funnel.texts)
    assert "رسیده‌ها: ۳" in trend.texts and "۲۰۲۶-۰۱-۰۵" in trend.texts
    assert funnel.alt.startswith("قیف معرفی‌ها، ۱۲ هفتهٔ گذشته: درخواست‌شده ۱۲۰،")
    # The texts stay in logical order (what a screen reader and a test read); the font lays them out: "رسیده"
    # starts at the right with ر, which joins nothing, and its س is drawn in its joining form, not alone.
    font = get_font(findfont(FontProperties(family=FONT)))
    glyphs = [index for index, _ in laid_out("رسیده")]
    assert glyphs[-1] == font.get_char_index(ord("ر"))
    assert font.get_char_index(ord("س")) not in glyphs and len(glyphs) == 5


# --- Read from the store ----------------------------------------------------------------------------


@pytest.fixture
async def store(operator: Operator) -> AsyncIterator[Store]:
    opened = await open_store(operator.url)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()


def tallied(operator: Operator) -> None:
    """Two weeks of the last twelve, as the tallies count them (and a day before them, which must not count)."""
    for day, variant, counts in (
        ("2026-01-05", "", (3, 2, 1, 1)),
        ("2025-12-29", "b", (2, 2, 2, 1)),
        ("2025-10-19", "", (5, 5, 5, 5)),
    ):
        operator.execute(
            "INSERT INTO referral_tallies (day, variant, shard, arrived, claimed, contacted, converted)"
            " VALUES (?, ?, 0, ?, ?, ?, ?)",
            day,
            variant,
            *counts,
        )
    operator.execute("INSERT INTO share_tallies (day, variant, shard, shares) VALUES ('2026-01-05', '', 0, 4)")
    for day, channel, prompt, counts in (
        ("2026-01-05", "link", "", (0, 3, 1, 95_000)),
        ("2025-12-29", "direct", "", (0, 2, 1, 1_050)),
        ("2025-12-30", "", "campaign:x", (2, 0, 0, 0)),
        ("2025-10-19", "link", "", (0, 5, 5, 1_000)),
    ):
        operator.execute(
            "INSERT INTO source_tallies (day, channel, prompted_by, shard, asked, arrived, converted, revenue_cents)"
            " VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
            day,
            channel,
            prompt,
            *counts,
        )


async def test_the_charts_read_the_funnel_and_the_weeks_from_the_tallies(
    store: Store, operator: Operator, program: Program
) -> None:
    tallied(operator)
    now = FakeClock().now()  # Monday 2026-01-05
    charts = await render_charts(store, program, Renderer(), "en", now)
    funnel, trend = charts
    assert funnel.alt == (
        "Referral funnel, last 12 weeks: asked 2, shared 4, arrived 5, claimed 4, contacted 3, converted 2"
        " (40.0% of arrivals)."
    )
    assert trend.alt == (
        "Week by week, last 12 weeks, 12 weeks from 2025-10-20: 5 arrivals, 2 conversions, 960.50 EUR revenue;"
        " the busiest week began 2026-01-05 with 3 arrivals."
    )
    assert "Revenue (EUR): 950" in trend.texts
    assert [chart.alt.split(":")[0] for chart in await render_charts(store, program, Renderer(), "en", now, "all")] == [
        "Referral funnel, all time",
        "Week by week, all time, 13 weeks from 2025-10-13",  # from the first week anything arrived in
    ]
    with pytest.raises(ValueError, match="'soon' is not a chart period"):
        await render_charts(store, program, Renderer(), "en", now, "soon")


async def test_a_year_of_days_reads_as_one_row_a_day(store: Store, operator: Operator) -> None:
    tallied(operator)
    operator.execute(
        "INSERT INTO source_tallies (day, channel, prompted_by, shard, arrived) VALUES ('2026-01-05', 'link', '', 1, 4)"
    )
    assert await store.arrivals_by_day(date(2025, 12, 29)) == [
        DayCounts("2025-12-29", 2, 1, 1_050),
        DayCounts("2025-12-30", 0, 0, 0),
        DayCounts("2026-01-05", 7, 1, 95_000),  # its shards summed
    ]
    assert len(await store.arrivals_by_day(None)) == 4


# --- `referral-bot stats --chart` ---------------------------------------------------------------------


async def test_the_operator_writes_both_charts_as_png_files(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "stats", "--chart", "charts.png")
    assert code == 0, out
    assert size((tmp_path / "charts.png").read_bytes()) == (WIDTH, HEIGHT)
    assert size((tmp_path / "charts-trend.png").read_bytes()) == (WIDTH, HEIGHT)
    funnel_line, trend_line = out.splitlines()
    assert funnel_line.startswith("wrote the funnel chart to charts.png: Referral funnel, last 12 weeks: asked 0,")
    assert trend_line.startswith("wrote the trend chart to charts-trend.png: Week by week, last 12 weeks, 12 weeks")
    code, out, _ = await run(tmp_path, "stats", "52w", "--chart", "year", "--locale", "fa")
    assert code == 0 and "هفته به هفته، ۵۲ هفتهٔ گذشته" in out
    assert size((tmp_path / "year-trend.png").read_bytes()) == (WIDTH, HEIGHT)
    code, _, err = await run(tmp_path, "stats", "money", "--chart", "x.png")
    assert code == 2 and "'money' has no chart" in err
    code, _, err = await run(tmp_path, "stats", "soon", "--chart", "x.png")
    assert code == 2 and "'soon' is not a period" in err and not (tmp_path / "x.png").exists()
