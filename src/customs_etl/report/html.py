"""The report as one self-contained HTML page (inline SVG charts, no scripts, no URLs) and a PNG.

Read-only on the published warehouse: every figure comes from the marts, and the page lists the
release files behind the half's figures so each one traces back to its files.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib
import polars as pl
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from customs_etl.guard import written_whole
from customs_etl.report.formatting import axis_scale, axis_tick, money, percent, short_money, whole
from customs_etl.report.formatting import share as share_of
from customs_etl.report.text import (
    SANCTIONS_CAVEAT,
    HalfYear,
    article,
    long_view,
    sanctions_lines,
    sanctions_shares,
    top_commodities,
    unit_value,
    volume_and_price,
    yearly_series,
)

FLOWS = ("export", "import")
FLOW_TITLES = {"export": "China's exports to", "import": "China's imports from"}
HALF_LABELS = {"export": "China's exports", "import": "China's imports", "total": "Total trade"}
FLOW_COLOURS = {"export": "#1f5fa8", "import": "#c8553d"}
YEAR_COLOURS = ("#a9bdd6", "#1b3f6b")  # the earlier half light, the requested half dark
# Text stays text in the SVG (searchable, small); a fixed salt and no metadata make the
# output byte-for-byte repeatable. Figures are drawn on plain Figure objects: no pyplot state,
# PNGs come from the Agg canvas.
_RC = {"svg.fonttype": "none", "svg.hashsalt": "customs-etl", "font.size": 10}
_SVG_METADATA = dict.fromkeys(("Creator", "Date", "Format", "Type"))
_PNG_DPI = 150


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    png: Path


def write_html_report(
    con: duckdb.DuckDBPyConnection,
    partner_iso3: str,
    period: HalfYear,
    out_dir: Path,
    *,
    generated_at: dt.datetime | None = None,
) -> ReportFiles:
    """Write report-<partner>-<period>.html and .png (the monthly chart) into out_dir."""
    partner_iso3 = partner_iso3.upper()
    stem = report_stem(partner_iso3, period)
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}.png")
    name = partner_name(con, partner_iso3)
    out_dir.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_RC):
        monthly = monthly_figure(monthly_series(con, partner_iso3), name, period)
        half = half_year_figure(half_year_comparison(con, partner_iso3, period), name, period)
        yearly = yearly_figure(yearly_series(con, partner_iso3), name)
        charts = (
            inline_svg(half, "half-year", f"{name}: {period} against a year earlier"),
            inline_svg(monthly, "monthly", f"{name}: monthly trade by flow"),
            inline_svg(yearly, "yearly", f"{name}: trade by year"),
        )
    stamp = (generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S %Z")
    page = _page(con, partner_iso3, name, period, charts, stamp)
    # Each file is written beside its name and renamed into place: never half-written.
    with written_whole(files.png) as partial, matplotlib.rc_context(_RC):
        monthly.savefig(partial, dpi=_PNG_DPI, format="png")
    with written_whole(files.html) as partial:
        partial.write_text(page, encoding="utf-8")
    return files


def report_stem(partner_iso3: str, period: HalfYear) -> str:
    """The files' name: from a partner code the marts know and a parsed half-year only."""
    return f"report-{partner_iso3}-{period.year}{period.half}".lower()


# --- figures from the marts -------------------------------------------------------------------


def partner_name(con: duckdb.DuckDBPyConnection, partner_iso3: str) -> str:
    row = con.execute(
        "select partner_name from marts.partners where partner_iso3 = ?", [partner_iso3]
    ).fetchone()
    return str(row[0]) if row else partner_iso3


def monthly_series(con: duckdb.DuckDBPyConnection, partner_iso3: str) -> pl.DataFrame:
    return con.execute(
        """
        select period, flow, value_usd, yoy_pct
        from marts.trade_monthly
        -- a January-February cumulative is not a month: a monthly chart leaves it out
        where partner_iso3 = ? and flow in ('export', 'import') and months_covered = 1
          and value_usd is not null
        order by flow, period
        """,
        [partner_iso3],
    ).pl()


def half_year_comparison(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> pl.DataFrame:
    """Per flow: the half, the same months a year earlier (else the whole earlier half)."""
    return con.execute(
        """
        with halves as (
            select * from marts.trade_half_year where partner_iso3 = ? and half = ?
        )
        select flows.flow, cur.value_usd,
               coalesce(cur.value_usd_prev_year, prev.value_usd) as value_usd_prev,
               cur.yoy_pct, coalesce(cur.months_covered, 0) as months_covered,
               coalesce(prev.months_covered, 0) as months_covered_prev
        from (values (1, 'export'), (2, 'import'), (3, 'total')) as flows(pos, flow)
        left join halves as cur on cur.flow = flows.flow and cur.year = ?
        left join halves as prev on prev.flow = flows.flow and prev.year = ?
        order by flows.pos
        """,
        [partner_iso3, period.half, period.year, period.year - 1],
    ).pl()


def data_as_of(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    row = con.execute(
        """
        select max(received_at), max(loaded_at), count(*) filter (where status = 'loaded'),
               count(*) filter (where status = 'rejected'),
               (select max(period_end) from marts.trade_monthly)
        from meta.releases
        """
    ).fetchone()
    keys = ("received_at", "loaded_at", "loaded", "rejected", "latest_period")
    return dict(zip(keys, row or (None,) * len(keys), strict=True))


def half_year_sources(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> pl.DataFrame:
    first, last = period.months
    return con.execute(
        """
        select strftime(sources.period, '%Y-%m') as month, sources.flow, sources.source_name,
               releases.hs_level, sources.row_count, sources.value_usd, releases.received_at,
               sources.value, sources.currency,
               sources.release_id
        from marts.trade_monthly_sources as sources
        inner join meta.releases as releases using (release_id)
        where sources.partner_iso3 = ? and year(sources.period) = ?
          and month(sources.period) between ? and ?
        order by sources.period, sources.flow, sources.source_name, sources.release_id
        """,
        [partner_iso3, period.year, first, last],
    ).pl()


# --- charts -----------------------------------------------------------------------------------


def monthly_figure(frame: pl.DataFrame, partner: str, period: HalfYear) -> Figure:
    """Monthly value by flow as bars, change on a year earlier as a line on a second axis."""
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    divisor, unit = axis_scale(frame["value_usd"].max() if frame.height else 0)
    months = frame["period"]
    span = f"{months.min():%b %Y} – {months.max():%b %Y}" if frame.height else "no figures"
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
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_h(label)}" ', 1)


def _pct_colour(value: float | None) -> str:
    if value is None:
        return "#666666"
    return "#1a7f37" if value >= 0 else "#b42318"


def _escape(text: str) -> str:
    # Two "$" in one label would switch matplotlib to mathtext.
    return text.replace("$", r"\$")


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --- the page ---------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1f2328;
       max-width: 1120px; margin: 24px auto; padding: 0 16px; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; font-size: 1.25em; }
.article { white-space: pre-line; background: #f6f8fa; padding: 12px 16px; border-radius: 6px; }
.meta, .generated, figcaption { color: #57606a; font-size: 0.9em; }
figure { margin: 0; } svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.85em; word-break: break-all; }
.columns { display: flex; gap: 32px; flex-wrap: wrap; } .columns > div { flex: 1 1 480px; }
"""


def _page(
    con: duckdb.DuckDBPyConnection,
    partner_iso3: str,
    partner: str,
    period: HalfYear,
    charts: tuple[str, str, str],
    generated_at: str,
) -> str:
    title = f"China's trade with {partner} ({partner_iso3}), {period}"
    body = [
        f"<h1>{_h(title)}</h1>",
        f'<p class="meta">{_as_of_line(data_as_of(con))}</p>',
        f'<p class="article">{_h(article(con, partner_iso3, period))}</p>',
        *_half_year_section(con, partner_iso3, period, charts[0]),
        "<h2>Month by month</h2>",
        f'<figure id="monthly-chart">{charts[1]}<figcaption>Bars: value in US dollars. '
        "Line: change on the same month a year earlier. Shaded: the half reported."
        "</figcaption></figure>",
        "<h2>Year by year</h2>",
        f'<figure id="yearly-chart">{charts[2]}<figcaption>{_h(long_view(con, partner_iso3))} '
        "Bars: China's exports and imports, stacked; above them the total. A pale bar is a "
        "year not fully loaded.</figcaption></figure>",
        *_commodity_section(con, partner_iso3, period),
        *_sanctions_section(con, partner_iso3, period),
        *_sources_section(con, partner_iso3, period),
        f'<p class="generated">Generated at {_h(generated_at)} by customs-etl.</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_h(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _half_year_section(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear, chart: str
) -> list[str]:
    earlier = HalfYear(period.year - 1, period.half)
    frame = half_year_comparison(con, partner_iso3, period)
    rows = [
        (
            HALF_LABELS[r["flow"]],
            money(r["value_usd_prev"]),
            money(r["value_usd"]),
            percent(r["yoy_pct"], missing="no comparison"),
            f"{r['months_covered']} of 6",
        )
        for r in frame.iter_rows(named=True)
    ]
    months = max(frame["months_covered"].max() or 0, 0)
    return [
        f"<h2>{_h(f'{period} vs {earlier}')}</h2>",
        f'<figure id="half-year-chart">{chart}<figcaption>Change on a year earlier compares the '
        f"same months ({months} of 6 months of {_h(str(period))} loaded); with no like-for-like "
        f"months the bar shows the whole of {_h(str(earlier))}.</figcaption></figure>",
        _table(
            ["", str(earlier), str(period), "change", "months"],
            rows,
            numeric=(1, 2, 3, 4),
        ),
    ]


def _commodity_section(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> list[str]:
    parts = ["<h2>Top commodities (HS 4-digit)</h2>", '<div class="columns">']
    for flow in FLOWS:
        top = top_commodities(con, partner_iso3, period, flow, limit=10)
        rows = [
            (
                str(i),
                r["hs_code"],
                r["hs_description"] or "no description",
                money(r["value_usd"]),
                unit_value(r),
                volume_and_price(r),
            )
            for i, r in enumerate(top.iter_rows(named=True), start=1)
        ]
        heading = f"{FLOW_TITLES[flow]} {partner_name(con, partner_iso3)}, {period}"
        headers = ["#", "HS", "description", "value", "unit value", "on a year earlier"]
        table = _table(headers, rows, numeric=(0, 3))
        parts.append(f"<div><h3>{_h(heading)}</h3>{table if rows else '<p>None loaded.</p>'}</div>")
    return [*parts, "</div>"]


def _sanctions_section(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> list[str]:
    """Share of each flow in lines under a UN measure in force, and the largest lines each way."""
    if partner_iso3 != "PRK":
        return []
    shares = {r["flow"]: r for r in sanctions_shares(con, period).iter_rows(named=True)}
    rows = []
    for flow in FLOWS:
        share = shares.get(flow)
        if share is None:
            continue
        rows.append(
            (
                FLOW_TITLES[flow] + " the DPRK",
                money(share["value_usd"]),
                money(share["covered_value_usd"]),
                share_of(share["covered_share_pct"]),
                str(share["covered_line_count"]),
            )
        )
    headers = ["", "all goods", "under a measure in force", "share", "lines"]
    parts = [
        "<h2>Sanctions lens: UN Security Council measures</h2>",
        f"<p>{_h(SANCTIONS_CAVEAT)}</p>",
        _table(headers, rows, numeric=(1, 2, 3, 4)),
        '<div class="columns">',
    ]
    for flow in FLOWS:
        table_rows = []
        for covered in (True, False):
            for r in sanctions_lines(con, period, flow, covered).iter_rows(named=True):
                table_rows.append(
                    (
                        "covered" if covered else "not covered",
                        r["hs_code"],
                        r["hs_description"] or "no description",
                        money(r["value_usd"]),
                        r["measures"] or "",
                    )
                )
        heading = f"{FLOW_TITLES[flow]} the DPRK, {period}: largest lines"
        table = _table(["", "HS", "description", "value", "measures"], table_rows, numeric=(3,))
        parts.append(f"<div><h3>{_h(heading)}</h3>{table if table_rows else '<p>None.</p>'}</div>")
    return [*parts, "</div>"]


def _sources_section(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> list[str]:
    sources = half_year_sources(con, partner_iso3, period)
    rows = [
        (
            r["month"],
            r["flow"],
            r["source_name"],
            str(r["hs_level"] or ""),
            whole(r["row_count"]),
            _source_value(r),
            _stamp(r["received_at"]),
            f"<code>{_h(r['release_id'])}</code>",
        )
        for r in sources.iter_rows(named=True)
    ]
    files = sources["release_id"].n_unique() if sources.height else 0
    headers = ["month", "flow", "file", "HS level", "rows", "US$", "received (UTC)", "SHA-256"]
    return [
        "<h2>Sources</h2>",
        f"<p>{files} release files behind the {_h(str(period))} figures for "
        f"{_h(partner_iso3)} (rows and US dollars each file contributed; the SHA-256 is the "
        "release id in <code>meta.releases</code>):</p>",
        _table(headers, rows, numeric=(3, 4, 5), raw=(7,)),
    ]


def _source_value(row: dict[str, object]) -> str:
    """The dollars a file contributed; a yuan file (a CNY preliminary table) has none, so its
    yuan are shown with their currency instead, never converted."""
    if row["value_usd"] is not None:
        return whole(row["value_usd"])  # type: ignore[arg-type]
    return f"({whole(row['value'])} {row['currency']})"  # type: ignore[arg-type]


def _as_of_line(as_of: dict[str, object]) -> str:
    latest = as_of["latest_period"]
    month = f"{latest:%B %Y}" if isinstance(latest, dt.date) else "none"
    return _h(
        f"Data as of: latest month in the marts: {month}; release files received up to "
        f"{_stamp(as_of['received_at'])}, loaded up to {_stamp(as_of['loaded_at'])}. "
        f"Sources: {as_of['loaded']} release files loaded ({as_of['rejected']} rejected)."
    )


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[int] = (),
    raw: Sequence[int] = (),
) -> str:
    """An HTML table; cells are escaped except the columns in raw (already HTML)."""

    def cell(tag: str, i: int, text: str, escape: bool = True) -> str:
        css = ' class="num"' if i in numeric else ""
        return f"<{tag}{css}>{_h(text) if escape else text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c, i not in raw) for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stamp(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else "n/a"


def _h(text: str) -> str:
    return html.escape(text, quote=True)
