"""The report's charts, drawn with matplotlib from the frames of report/queries.py: the monthly
trade by flow, a half-year against a year earlier, and the whole arc by year.

Text stays text in the SVG (searchable, small); a fixed salt and no metadata make the output
byte-for-byte repeatable. Figures are drawn on plain Figure objects: no pyplot state, PNGs come
from the Agg canvas. matplotlib is slow to import: only report/html.py imports this module, when
it draws.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from dataclasses import dataclass

import matplotlib
import polars as pl
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from customs_etl.report.formatting import axis_scale, axis_tick, percent, short_money
from customs_etl.report.text import FLOW_TITLES, FLOWS, HALF_LABELS, HalfYear

FLOW_COLOURS = {"export": "#1f5fa8", "import": "#c8553d"}
YEAR_COLOURS = ("#a9bdd6", "#1b3f6b")  # the earlier half light, the requested half dark
_RC = {"svg.fonttype": "none", "svg.hashsalt": "customs-etl", "font.size": 10}
_SVG_METADATA = dict.fromkeys(("Creator", "Date", "Format", "Type"))
_PNG_DPI = 150


@dataclass(frozen=True)
class Charts:
    """The three charts as <svg> elements for the page, and the monthly one as a PNG."""

    half_year: str
    monthly: str
    yearly: str
    monthly_png: bytes


def draw_charts(
    monthly: pl.DataFrame,
    half_year: pl.DataFrame,
    yearly: pl.DataFrame,
    partner: str,
    period: HalfYear,
) -> Charts:
    """The charts of a partner's report from queries.monthly_series, half_year_comparison and
    text.yearly_series."""
    with matplotlib.rc_context(_RC):
        monthly_fig = monthly_figure(monthly, partner, period)
        half_fig = half_year_figure(half_year, partner, period)
        yearly_fig = yearly_figure(yearly, partner)
        # The SVGs first: saving redraws a constrained layout, so the order is kept fixed.
        against = f"{partner}: {period} against a year earlier"
        svgs = (
            inline_svg(half_fig, "half-year", against),
            inline_svg(monthly_fig, "monthly", f"{partner}: monthly trade by flow"),
            inline_svg(yearly_fig, "yearly", f"{partner}: trade by year"),
        )
        png = io.BytesIO()
        monthly_fig.savefig(png, dpi=_PNG_DPI, format="png")
        return Charts(*svgs, monthly_png=png.getvalue())


def monthly_figure(frame: pl.DataFrame, partner: str, period: HalfYear) -> Figure:
    """Monthly value by flow as bars, change on a year earlier as a line on a second axis; the
    months of queries.monthly_series (a window, not the whole series: the title says which)."""
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    divisor, unit = axis_scale(frame["value_usd"].max() if frame.height else 0)
    months = frame["period"]
    span = (
        f"{months.min():%b %Y} – {months.max():%b %Y} ({months.n_unique()} months with figures)"
        if frame.height
        else "no figures"
    )
    fig.suptitle(f"China's monthly trade with {partner}, {span}", fontsize=13, fontweight="bold")
    for ax, flow in zip(axes, FLOWS, strict=True):
        _monthly_panel(ax, frame.filter(pl.col("flow") == flow), flow, divisor, period)
        ax.set_title(f"{FLOW_TITLES[flow]} {partner}", loc="left", fontsize=11)
        ax.set_ylabel(unit)
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig


def _monthly_panel(
    ax: Axes, frame: pl.DataFrame, flow: str, divisor: float, period: HalfYear
) -> None:
    first, last = period.months
    shade = ax.axvspan(
        dt.date(period.year, first, 1),
        _next_month(dt.date(period.year, last, 1)),
        color="#f6e7a8",
        alpha=0.6,
        lw=0,
        label=str(period),
    )
    if frame.height == 0:
        ax.text(0.5, 0.5, "No figures loaded", transform=ax.transAxes, ha="center")
        return
    # Bars sit mid-month so a month's bar falls inside the shaded half it belongs to.
    days = [p + dt.timedelta(days=15) for p in frame["period"]]
    values = [v / divisor for v in frame["value_usd"]]
    bars = ax.bar(days, values, width=22, color=FLOW_COLOURS[flow], label="Monthly value")
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    twin = ax.twinx()
    twin.axhline(0, color="#888888", lw=0.8, ls="--")
    change = [math.nan if p is None else p for p in frame["yoy_pct"]]
    (line,) = twin.plot(
        days,
        change,
        color="#222222",
        marker="o",
        ms=3.5,
        lw=1.4,
        label="Change on a year earlier (%)",
    )
    twin.set_ylabel("% on a year earlier")
    _align_zeros(ax, twin)
    # Above the panel, beside its title: inside it would cover bars.
    ax.legend(
        handles=[bars, line, shade],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=3,
        fontsize=9,
        frameon=False,
        borderaxespad=0.2,
    )


def _align_zeros(ax: Axes, twin: Axes) -> None:
    """Put 0% level with $0, so the bars' base reads as 'no change' for the line."""
    low, high = twin.get_ylim()
    low, high = min(low, 0.0), max(high, 0.0)
    high = high or -low * 0.1  # all changes negative: keep some room above zero
    below = -low / (high - low) if high > low else 0.0
    top = ax.get_ylim()[1]
    ax.set_ylim(-top * below / (1 - below), top)
    twin.set_ylim(low, high)
    # The value axis only reaches below zero to line up with the change axis: no labels there.
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: axis_tick(y) if y >= 0 else ""))


def half_year_figure(frame: pl.DataFrame, partner: str, period: HalfYear) -> Figure:
    """The half against the same half a year earlier, by flow, values and change labelled."""
    earlier = HalfYear(period.year - 1, period.half)
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.subplots()
    current = [v or 0 for v in frame["value_usd"]]
    prev = [v or 0 for v in frame["value_usd_prev"]]
    divisor, unit = axis_scale(max([*current, *prev, 0]))
    positions = list(range(frame.height))
    for offset, values, raw, label, colour in (
        (-0.2, prev, frame["value_usd_prev"], str(earlier), YEAR_COLOURS[0]),
        (0.2, current, frame["value_usd"], str(period), YEAR_COLOURS[1]),
    ):
        bars = ax.bar(
            [p + offset for p in positions],
            [v / divisor for v in values],
            0.38,
            color=colour,
            label=label,
        )
        ax.bar_label(bars, labels=[_escape(short_money(v)) for v in raw], padding=3, fontsize=9)
    top = max([*current, *prev, 1]) / divisor
    for pos, pct, a, b in zip(positions, frame["yoy_pct"], current, prev, strict=True):
        ax.text(
            pos,
            max(a, b) / divisor + top * 0.1,
            percent(pct, missing="no comparison"),
            ha="center",
            fontsize=11,
            fontweight="bold",
            color=_pct_colour(pct),
        )
    ax.set_ylim(0, top * 1.28)
    ax.set_xticks(positions, [HALF_LABELS[f] for f in frame["flow"]])
    ax.set_ylabel(unit)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(
        f"China's trade with {partner}: {period} vs {earlier}", fontsize=13, fontweight="bold"
    )
    return fig


def yearly_figure(frame: pl.DataFrame, partner: str) -> Figure:
    """Every year loaded: exports and imports stacked, the total above each bar; a year with
    fewer than 12 months loaded is pale and says how many."""
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    flows: dict[str, dict[int, int | None]] = {"export": {}, "import": {}, "total": {}}
    months: dict[int, int] = {}
    for row in frame.iter_rows(named=True):
        flows[row["flow"]][row["year"]] = row["value_usd"]
        if row["flow"] == "total":
            months[row["year"]] = row["months_covered"]
    years = sorted(months)
    ax.set_title(
        f"China's trade with {partner} by year" + (f", {years[0]}–{years[-1]}" if years else ""),
        fontsize=13,
        fontweight="bold",
    )
    if not years:
        ax.text(0.5, 0.5, "No figures loaded", transform=ax.transAxes, ha="center")
        return fig
    divisor, unit = axis_scale(max(v or 0 for v in flows["total"].values()))
    exports = [(flows["export"].get(y) or 0) / divisor for y in years]
    imports = [(flows["import"].get(y) or 0) / divisor for y in years]
    alpha = [1.0 if months[y] == 12 else 0.45 for y in years]
    bottom_bars = ax.bar(years, exports, 0.7, color=FLOW_COLOURS["export"], label="China's exports")
    top_bars = ax.bar(
        years, imports, 0.7, bottom=exports, color=FLOW_COLOURS["import"], label="China's imports"
    )
    for bars in (bottom_bars, top_bars):
        for bar, a in zip(bars, alpha, strict=True):
            bar.set_alpha(a)
    labels = [
        _escape(short_money(flows["total"].get(y)))
        + ("" if months[y] == 12 else f"\n({months[y]} months)")
        for y in years
    ]
    totals = [e + i for e, i in zip(exports, imports, strict=True)]
    for year, total, label in zip(years, totals, labels, strict=True):
        ax.text(year, total, label, ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, max(totals) * 1.15 or 1)
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_ylabel(unit)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper right", fontsize=9)
    return fig


def inline_svg(fig: Figure, prefix: str, label: str) -> str:
    """The figure as an <svg> element for an HTML page: no prolog, no namespace URLs."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # an XML prolog and DOCTYPE are not allowed inside HTML
    # The HTML parser puts <svg> in the SVG namespace (and xlink:href in XLink's) by itself.
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    # Two charts share one document: prefix ids and references so they stay unique.
    svg = re.sub(r'(\bid="|href="#|url\(#)', rf"\g<1>{prefix}-", svg)
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" ', 1
    )


def _pct_colour(value: float | None) -> str:
    if value is None:
        return "#666666"
    return "#1a7f37" if value >= 0 else "#b42318"


def _escape(text: str) -> str:
    # Two "$" in one label would switch matplotlib to mathtext.
    return text.replace("$", r"\$")


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
