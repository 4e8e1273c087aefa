"""`referral-bot stats --chart FILE.png [PERIOD]`: the charts of `/referrals stats chart`, as two files beside each
other: the funnel in FILE.png, the weeks in FILE-trend.png. Each file's alt text is printed, for a page that shows
them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import typer

from bot.app.cli_base import err
from bot.core.clock import SystemClock
from bot.program.rules import Program
from bot.program.settings import Settings
from bot.reports.charts import DEFAULT_CHART_PERIOD, Chart, ChartPeriod, parse_chart_period, render_charts
from messages import LOCALES


def chart_files(file: Path) -> tuple[Path, Path]:
    """FILE.png for the funnel and FILE-trend.png for the weeks (.png added when the name has no suffix)."""
    funnel = file if file.suffix else file.with_name(file.name + ".png")
    return funnel, funnel.with_name(f"{funnel.stem}-trend{funnel.suffix}")


def write_charts(
    settings: Settings, rules: Program, period: str | None, view: str | None, file: Path, locale: str
) -> None:
    """Draws and writes both charts, and says where; exits with 2 on input it cannot use."""
    now = SystemClock().now()
    chosen = parse_chart_period(period or DEFAULT_CHART_PERIOD, now)
    problem = None
    if view is not None:
        problem = f"--chart draws the funnel and the weeks; {view!r} has no chart"
    elif chosen is None:
        problem = f"{period!r} is not a period (such as 12w, 52w, 30d or all)"
    elif locale not in LOCALES:
        problem = f"--locale {locale!r} is not one of {', '.join(LOCALES)}"
    if problem is not None or chosen is None:
        err.print(f"referral-bot stats: {problem}", highlight=False)
        raise typer.Exit(2)
    charts = asyncio.run(_charts(settings, rules, chosen, locale, now))
    for chart, path in zip(charts, chart_files(file), strict=True):
        try:
            path.write_bytes(chart.png)
        except OSError as exc:
            err.print(f"referral-bot stats: {path}: {exc.strerror}", highlight=False)
            raise typer.Exit(2) from None
        typer.echo(f"wrote the {chart.name} chart to {path}: {chart.alt}")


async def _charts(settings: Settings, rules: Program, period: ChartPeriod, locale: str, now: datetime) -> list[Chart]:
    from bot.app.wiring import open_migrated_store
    from messages import Renderer

    store = await open_migrated_store(settings)
    try:
        return await render_charts(store, rules, Renderer(settings.templates_dir), locale, now, period)
    finally:
        await store.close()
