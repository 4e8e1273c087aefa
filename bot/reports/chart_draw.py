"""The charts drawn with matplotlib's Agg backend: PNG bytes from figures already put into words.

Each drawing makes a Figure of its own on its own Agg canvas, never pyplot's global state, and needs no display.
The words are DejaVu Sans, which matplotlib bundles and which has Persian's letters, so no system font is needed.
Text is given in logical order: matplotlib (3.11 on) lays it out with libraqm, which joins Persian letters
(HarfBuzz) and orders right-to-left runs (FriBidi) itself. Text shaped beforehand (arabic_reshaper, python-bidi)
would be reversed a second time.

Colours are Okabe and Ito's palette, which people with every common colour-vision deficiency tell apart; colour is
never the only cue: the lines differ in dash and marker, the bars in hatching, and every series is named beside it."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from bot.reports.chart_words import FunnelDrawing, Series, TrendDrawing

BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"  # Okabe–Ito
INK, GRID = "#222222", "#DDDDDD"
WIDTH, HEIGHT, DPI = 1000, 600, 100  # pixels: wide enough for Slack's and the playground's full width
FONT = "DejaVu Sans"
MAX_TICKS = 8  # week labels under the trend: a year's 53 would overlap
# rc_context changes matplotlib's process-wide settings while a chart is drawn: one drawing at a time.
_DRAWING = threading.Lock()
_STYLE: dict[RcKeyType, Any] = {
    "font.family": FONT,
    "font.size": 11,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "hatch.linewidth": 1.0,
}


@dataclass(frozen=True)
class Drawn:
    png: bytes
    texts: tuple[str, ...]  # every text on the picture, as drawn


@contextmanager
def _figure(language: str, rows: int = 1, heights: Sequence[int] = (1,)) -> Iterator[tuple[Figure, list[Axes]]]:
    # The language picks the font's own forms for it (Persian's, where they differ from Arabic's).
    with _DRAWING, rc_context({**_STYLE, "text.language": language}):
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, 1, sharex=True, height_ratios=list(heights), squeeze=False)[:, 0]
        yield figure, list(axes)


def _png(figure: Figure) -> Drawn:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    texts = tuple(t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip())
    return Drawn(out.getvalue(), texts)


def _title(axes: Axes, text: str, rtl: bool, size: int = 15) -> None:
    axes.set_title(text, loc="right" if rtl else "left", fontsize=size, fontweight="bold", pad=12)


def _plain(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_axisbelow(True)


def draw_funnel(drawing: FunnelDrawing) -> Drawn:
    """The stages top to bottom as bars, each named and counted beside it. Right to left, the bars grow leftwards
    from the names on the right."""
    rtl, bars = drawing.rtl, drawing.bars
    with _figure(drawing.language) as (figure, (axes,)):
        _plain(axes)
        top = max((bar.value for bar in bars), default=0) or 1
        rows = range(len(bars))
        colours = [GREEN if b is bars[-1] else BLUE if b.team else ORANGE for b in bars]
        drawn = axes.barh(rows, [b.value for b in bars], color=colours, edgecolor="white", height=0.7)
        for bar, patch in zip(bars, drawn.patches, strict=True):
            # The customers' steps hatched one way, the last (converted) another: told apart without colour.
            patch.set_hatch("xx" if bar is bars[-1] else "" if bar.team else "//")
            axes.annotate(
                bar.shown,
                (patch.get_width(), patch.get_y() + patch.get_height() / 2),
                xytext=(-6 if rtl else 6, 0),
                textcoords="offset points",
                ha="right" if rtl else "left",
                va="center",
                fontsize=12,
                fontweight="bold",
            )
        axes.set_yticks(list(rows), labels=[b.label for b in bars], fontsize=12)
        axes.invert_yaxis()  # the funnel reads top down, in the order of the stats line
        axes.set_xlim(0, top * 1.45)  # room for the counts written past the longest bar
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: drawing.number(value)))
        axes.grid(axis="x", color=GRID)
        axes.set_xlabel(drawing.axis)
        if rtl:
            axes.invert_xaxis()
            axes.yaxis.tick_right()
            axes.spines["left"].set_visible(False)
            axes.spines["right"].set_visible(True)
        _title(axes, drawing.title, rtl)
        return _png(figure)


def draw_trend(drawing: TrendDrawing) -> Drawn:
    """Arrivals and conversions as lines above, revenue as bars below on an axis of its own (money and counts do
    not share a scale). Time runs left to right in every language, as on a calendar."""
    weeks = range(len(drawing.weeks))
    with _figure(drawing.language, 2, (2, 1)) as (figure, (lines, money)):
        for axes in (lines, money):
            _plain(axes)
            axes.grid(axis="y", color=GRID)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: drawing.number(value)))
        # Arrivals wider and below: where every arrival converted, the dashed line on top leaves both in sight.
        styles = ((drawing.arrivals, BLUE, "-", "o", 8, 3.5), (drawing.conversions, VERMILLION, "--", "s", -8, 2.0))
        for series, colour, dash, marker, offset, width in styles:
            lines.plot(
                weeks, series.values, color=colour, linestyle=dash, marker=marker, markersize=width + 3, linewidth=width
            )
            _name_at_end(lines, series, colour, offset)
        _floor(lines, [*drawing.arrivals.values, *drawing.conversions.values])
        money.bar(weeks, drawing.revenue.values, color=GREEN, hatch="//", edgecolor="white", width=0.8)
        _name_at_end(money, drawing.revenue, GREEN, 8)
        _floor(money, drawing.revenue.values)
        step = max(1, -(-len(weeks) // MAX_TICKS))
        ticks = list(weeks)[::-1][::step][::-1]  # counted back from this week, so the latest is always labelled
        money.set_xticks(ticks, labels=[drawing.weeks[i] for i in ticks])
        money.set_xlim(-0.6, len(weeks) - 0.4 + max(1.5, len(weeks) * 0.22))  # room for the names after the last
        money.set_xlabel(drawing.week_axis)
        _title(lines, drawing.title, drawing.rtl)
        figure.supxlabel(drawing.note, fontsize=9, color="#555555")
        return _png(figure)


def _name_at_end(axes: Axes, series: Series, colour: str, offset: int) -> None:
    """The series' name and latest value beside its last point: no legend to match colours against."""
    if not series.values:
        return
    at = (len(series.values) - 1, series.values[-1])
    label: dict[str, Any] = {"color": colour, "fontweight": "bold", "fontsize": 11, "va": "center"}
    axes.annotate(f"{series.name}: {series.last}", at, xytext=(10, offset), textcoords="offset points", **label)


def _floor(axes: Axes, values: Sequence[float]) -> None:
    """Counts start at zero; with nothing counted yet the axis still shows 0 to 1 rather than a sliver around 0."""
    axes.set_ylim(0, max([*values, 0]) * 1.15 or 1)
