"""The story the marts tell, in words and small tables (read-only on the published warehouse)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from customs_etl.load.connection import literal
from customs_etl.report.formatting import change, money, pct_change, percent, unit_price
from customs_etl.report.formatting import share as share_of
from customs_etl.report.queries import partner_name
from customs_etl.report.revisions import revision_lines, revisions_between

# Polars only names the frames' type here: DuckDB's .pl() imports it when a report needs one,
# and `customs-etl run` prints this module's half-years without it.
if TYPE_CHECKING:
    import polars as pl

_HALF = re.compile(r"^(\d{4})\s*-?\s*(H[12])$", re.IGNORECASE)
_MONTHS = {"H1": (1, 6), "H2": (7, 12)}
# The flows as the report names them: China's side, by flow and in tables and charts.
FLOWS = ("export", "import")
FLOW_TITLES = {"export": "China's exports to", "import": "China's imports from"}
HALF_LABELS = {"export": "China's exports", "import": "China's imports", "total": "Total trade"}


@dataclass(frozen=True)
class HalfYear:
    year: int
    half: str

    @classmethod
    def parse(cls, text: str) -> HalfYear:
        match = _HALF.match(text.strip())
        if not match:
            raise ValueError(f"period {text!r}: expected a half-year like 2025H1 or 2024H2")
        return cls(int(match.group(1)), match.group(2).upper())

    def __str__(self) -> str:
        return f"{self.half} {self.year}"

    @property
    def months(self) -> tuple[int, int]:
        return _MONTHS[self.half]


def half_year_table(
    con: duckdb.DuckDBPyConnection, partner_iso3: str
) -> tuple[list[str], list[tuple[object, ...]]]:
    """The columns and rows of a partner's half-years. Every `customs-etl run` prints them,
    also when nothing new arrived: a literal and fetchall, not a parameter and a frame (which
    import pandas and pyarrow; load/connection.py's literal)."""
    cursor = con.execute(
        f"""
        select year, half, flow, value_usd, value_usd_prev_year, yoy_pct, months_covered
        from marts.trade_half_year
        where partner_iso3 = {literal(partner_iso3)}
        order by year, half, flow
        """
    )
    columns = [column[0] for column in cursor.description or []]
    return columns, cursor.fetchall()


def top_commodities(
    con: duckdb.DuckDBPyConnection,
    partner_iso3: str,
    period: HalfYear,
    flow: str,
    hs_level: int = 4,
    limit: int = 5,
) -> pl.DataFrame:
    """The largest codes of the half, with their unit value and the change on a year earlier
    split into volume and price where both halves have a quantity in one unit."""
    return con.execute(
        """
        select hs_code, hs_description, value_usd, value_usd_prev_year, yoy_pct,
               quantity, quantity_unit, unit_value_usd, quantity_prev_year,
               unit_value_usd_prev_year,
               round(100.0 * (quantity / quantity_prev_year - 1), 1) as volume_pct,
               round(100.0 * (unit_value_usd / unit_value_usd_prev_year - 1), 1) as price_pct
        from marts.trade_by_commodity_half_year
        where partner_iso3 = ? and flow = ? and hs_level = ? and year = ? and half = ?
        order by value_usd desc, hs_code
        limit ?
        """,
        [partner_iso3, flow, hs_level, period.year, period.half, limit],
    ).pl()


def unit_value(row: dict[str, object]) -> str:
    """'$189.57 per Kilogram', or why there is none."""
    if row["unit_value_usd"] is None:
        return "no single unit"
    price = float(row["unit_value_usd"])  # type: ignore[arg-type]
    return f"{unit_price(price)} per {row['quantity_unit']}"


def volume_and_price(row: dict[str, object]) -> str:
    """The change on a year earlier split into volume and price: (1 + value) = (1 + volume) x
    (1 + price), so 'more wigs, or dearer wigs?' reads off the two."""
    if row["yoy_pct"] is None:
        return "no comparable figure a year earlier"
    value = percent(row["yoy_pct"])  # type: ignore[arg-type]
    if row["volume_pct"] is None or row["price_pct"] is None:
        return f"{value} (no volume/price split: quantities not in one unit)"
    volume, price = percent(row["volume_pct"]), percent(row["price_pct"])  # type: ignore[arg-type]
    return f"{value}: volume {volume}, price {price}"


def yearly_series(con: duckdb.DuckDBPyConnection, partner_iso3: str) -> pl.DataFrame:
    """Every year of a partner's trade by flow, complete or not (months_covered says)."""
    return con.execute(
        """
        select year, flow, value_usd, yoy_pct, months_covered
        from marts.trade_yearly
        where partner_iso3 = ?
        order by year, flow
        """,
        [partner_iso3],
    ).pl()


def last_measures(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.date] | None:
    """The last UN resolution with measures on the DPRK and the day it was adopted (seed)."""
    row = con.execute(
        "select resolution, adopted from staging.stg_unsc_measures "
        "order by adopted desc, resolution desc limit 1"
    ).fetchone()
    return (str(row[0]), row[1]) if row else None


def long_view(con: duckdb.DuckDBPyConnection, partner_iso3: str) -> str:
    """The whole arc from the yearly mart, complete years only: the peak, for the DPRK the fall
    after the year of the last UN measures, the low since the peak and the latest year."""
    totals = {
        row["year"]: row["value_usd"]
        for row in yearly_series(con, partner_iso3).iter_rows(named=True)
        if row["flow"] == "total" and row["months_covered"] == 12
    }
    if len(totals) < 2:
        return ""
    first, last = min(totals), max(totals)
    peak = max(totals, key=lambda year: (totals[year], -year))
    text = (
        f"Year by year ({first}-{last}): China's trade with {partner_name(con, partner_iso3)} "
        f"peaked in {peak} at {money(totals[peak])}"
    )
    measures = last_measures(con) if partner_iso3 == "PRK" else None
    after = peak
    if measures and measures[1].year in totals and measures[1].year + 1 in totals:
        year = measures[1].year
        before, next_year = totals[year], totals[year + 1]
        text += (
            f"; after the UN measures of {year} (the last, resolution {measures[0]}, adopted "
            f"{measures[1]:%Y-%m-%d}) it fell from {money(before)} in {year} to "
            f"{money(next_year)} in {year + 1} ({pct_change(before, next_year)})"
        )
        after = year
    later = [year for year in totals if year > after]
    low = min(later, key=lambda year: (totals[year], year)) if later else None
    if low is not None:
        text += f"; its low since then: {money(totals[low])} in {low}"
    if last not in (peak, low):
        text += f"; {last}: {money(totals[last])}"
    return text + "."


def article(con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear) -> str:
    """The paragraph a reporter would write from the marts."""
    rows = con.execute(
        """
        select flow, partner_name, value_usd, yoy_pct, months_covered
        from marts.trade_half_year
        where partner_iso3 = ? and year = ? and half = ?
        """,
        [partner_iso3, period.year, period.half],
    ).fetchall()
    if not rows:
        return f"No trade with {partner_iso3} in {period} in the warehouse."
    figures = {flow: (value, pct, months) for flow, _, value, pct, months in rows}
    partner = rows[0][1]
    total = figures.get("total", (None, None, 0))
    lines = [
        f"China's trade with {partner} in {period} ({total[2]} of 6 months): {money(total[0])}, "
        f"{change(total[1])}."
    ]
    arc = long_view(con, partner_iso3)
    if arc:
        lines.append(arc)
    for flow, words in FLOW_TITLES.items():
        value, pct, _ = figures.get(flow, (None, None, 0))
        lines.append(f"{words} {partner}: {money(value)}, {change(pct)}.")
        # Chapters first: reporters name goods by chapter ("plastics, furniture and bedding,
        # fertiliser"); the 4-digit lines then carry unit values and the volume/price split.
        chapters = top_commodities(con, partner_iso3, period, flow, hs_level=2)
        lines.append(
            "  By chapter: " + "; ".join(_chapter(row) for row in chapters.iter_rows(named=True))
        )
        top = top_commodities(con, partner_iso3, period, flow)
        lines.append(
            "  Top lines: " + "; ".join(_top_line(row) for row in top.iter_rows(named=True))
        )
    revised = revisions_text(con, partner_iso3, period)
    lines.append(revised or f"No figure of {partner_iso3} in {period} was revised.")
    return "\n".join(lines)


def revisions_text(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear | None
) -> str:
    """The revised figures of a partner in a half-year (or in any period, `None`), one line
    each; empty when none was revised."""
    if period is None:
        first, last = dt.date(1, 1, 1), dt.date(9999, 12, 1)
    else:
        first_month, last_month = period.months
        first, last = dt.date(period.year, first_month, 1), dt.date(period.year, last_month, 1)
    rows = revisions_between(con, partner_iso3, first, last)
    if not rows:
        return ""
    where = f"in {period}" if period is not None else "in the periods above"
    lines = [f"Revised figures of {partner_iso3} {where} (marts.trade_revisions):"]
    return "\n".join(lines + [f"  {line}" for line in revision_lines(rows)])


def _top_line(row: dict[str, object]) -> str:
    return f"{_commodity(row)} ({unit_value(row)}; {volume_and_price(row)})"


def _chapter(row: dict[str, object]) -> str:
    pct = row["yoy_pct"]
    return f"{_commodity(row)} ({'new' if pct is None else percent(pct)})"  # type: ignore[arg-type]


def _commodity(row: dict[str, object]) -> str:
    description = str(row["hs_description"] or "no description")
    short = description if len(description) <= 60 else description[:57] + "..."
    return f"{row['hs_code']} {short} {money(row['value_usd'])}"  # type: ignore[arg-type]


# --- The sanctions lens ---------------------------------------------------------------------------

SANCTIONS_CAVEAT = (
    "An analytical aid that matches commodity codes to published UN Security Council measures "
    "(marts.trade_under_measures_*), not a legal finding: exemptions, licences and the "
    "product's own reading of commodity words are not judged here."
)


def sanctions_shares(con: duckdb.DuckDBPyConnection, period: HalfYear) -> pl.DataFrame:
    """Per flow: trade with the DPRK in the half and the part in lines under a measure in force."""
    return con.execute(
        """
        select flow, value_usd, covered_value_usd, covered_share_pct, covered_line_count,
               value_usd_not_8digit, months_covered
        from marts.trade_under_measures_share_half_year
        where year = ? and half = ?
        order by flow
        """,
        [period.year, period.half],
    ).pl()


def sanctions_lines(
    con: duckdb.DuckDBPyConnection, period: HalfYear, flow: str, covered: bool, limit: int = 5
) -> pl.DataFrame:
    """The largest 8-digit lines of the half that are (or are not) under a measure in force,
    with the measures covering them (the join documented in the marts reference)."""
    first, last = period.months
    return con.execute(
        """
        with lines as (
            select period, flow, hs_code, hs_description, value_usd
            from marts.trade_by_commodity_monthly
            where partner_iso3 = 'PRK' and hs_level = 8 and flow = ?
              and year(period) = ? and month(period) between ? and ?
        ),
        matched as (
            select lines.*, string_agg(distinct measures.measure_id, ', '
                                       order by measures.measure_id) as measures
            from lines
            left join marts.trade_under_measures_monthly as measures
                on measures.period = lines.period and measures.flow = lines.flow
               and measures.in_force and lines.hs_code like measures.hs_prefix || '%'
            group by all
        )
        select hs_code, any_value(hs_description) as hs_description,
               cast(sum(value_usd) as bigint) as value_usd,
               string_agg(distinct measures, ', ') as measures
        from matched
        where (measures is not null) = ?
        group by hs_code
        order by value_usd desc, hs_code
        limit ?
        """,
        [flow, period.year, first, last, covered, limit],
    ).pl()


def sanctions_section(con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear) -> str:
    """The sanctions lens in words: for the DPRK only (the measures are the DPRK's)."""
    if partner_iso3.upper() != "PRK":
        return (
            "Sanctions lens: the UN Security Council measures are on the DPRK only; "
            f"none for {partner_iso3}."
        )
    shares = {row["flow"]: row for row in sanctions_shares(con, period).iter_rows(named=True)}
    if not shares:
        return f"Sanctions lens: no trade with PRK in {period} in the warehouse."
    lines = [f"Sanctions lens, {period}. {SANCTIONS_CAVEAT}"]
    for flow, words in FLOW_TITLES.items():
        share = shares.get(flow)
        if share is None:
            lines.append(f"{words} the DPRK: none loaded.")
            continue
        lines.append(
            f"{words} the DPRK: {money(share['covered_value_usd'])} of {money(share['value_usd'])} "
            f"({share_of(share['covered_share_pct'])}) in goods under a measure in force "
            f"({share['covered_line_count']} lines)."
        )
        if share["value_usd_not_8digit"]:
            lines.append(
                f"  {money(share['value_usd_not_8digit'])} was loaded below 8 digits and could "
                "not be matched."
            )
        covered = sanctions_lines(con, period, flow, covered=True)
        lines.append(
            "  Largest covered lines: "
            + ("; ".join(_covered(row) for row in covered.iter_rows(named=True)) or "none")
            + "."
        )
        uncovered = sanctions_lines(con, period, flow, covered=False)
        lines.append(
            "  Largest uncovered lines: "
            + ("; ".join(_commodity(row) for row in uncovered.iter_rows(named=True)) or "none")
            + "."
        )
    return "\n".join(lines)


def _covered(row: dict[str, object]) -> str:
    return f"{_commodity(row)} [{row['measures']}]"
