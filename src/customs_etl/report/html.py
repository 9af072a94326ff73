"""The report as one self-contained HTML page (inline SVG charts, no scripts, no URLs) and a PNG.

Read-only on the published warehouse: every figure comes from the marts (report/queries.py and
report/text.py), and the page lists the release files behind the half's figures so each one
traces back to its files. The charts (report/charts.py, matplotlib) are imported only to draw.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from customs_etl.guard import written_whole
from customs_etl.report.formatting import money, percent, whole
from customs_etl.report.formatting import share as share_of
from customs_etl.report.queries import (
    MONTHLY_WINDOW,
    data_as_of,
    half_year_comparison,
    half_year_sources,
    monthly_series,
    partner_name,
)
from customs_etl.report.text import (
    FLOW_TITLES,
    FLOWS,
    HALF_LABELS,
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

if TYPE_CHECKING:
    from customs_etl.report.charts import Charts


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
    from customs_etl.report.charts import draw_charts  # matplotlib: slow, only to draw

    charts = draw_charts(
        monthly_series(con, partner_iso3, period),
        half_year_comparison(con, partner_iso3, period),
        yearly_series(con, partner_iso3),
        name,
        period,
    )
    stamp = (generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S %Z")
    page = _page(con, partner_iso3, name, period, charts, stamp)
    # Each file is written beside its name and renamed into place: never half-written.
    with written_whole(files.png) as partial:
        partial.write_bytes(charts.monthly_png)
    with written_whole(files.html) as partial:
        partial.write_text(page, encoding="utf-8")
    return files


def report_stem(partner_iso3: str, period: HalfYear) -> str:
    """The files' name: from a partner code the marts know and a parsed half-year only."""
    return f"report-{partner_iso3}-{period.year}{period.half}".lower()


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
    charts: Charts,
    generated_at: str,
) -> str:
    title = f"China's trade with {partner} ({partner_iso3}), {period}"
    body = [
        f"<h1>{_h(title)}</h1>",
        f'<p class="meta">{_as_of_line(data_as_of(con))}</p>',
        f'<p class="article">{_h(article(con, partner_iso3, period))}</p>',
        *_half_year_section(con, partner_iso3, period, charts.half_year),
        "<h2>Month by month</h2>",
        f'<figure id="monthly-chart">{charts.monthly}<figcaption>The last {MONTHLY_WINDOW} '
        "months with figures (from the half reported on, when that is earlier); every "
        "year is in the chart below. Bars: value in US dollars. Line: change on the same month "
        "a year earlier, where that month has a monthly figure. Shaded: the half reported."
        "</figcaption></figure>",
        "<h2>Year by year</h2>",
        f'<figure id="yearly-chart">{charts.yearly}<figcaption>{_h(long_view(con, partner_iso3))} '
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
