"""The SQL behind the HTML report: the marts and meta tables it reads, as small frames and rows
(read-only on the published warehouse)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # polars: the frames' type only (DuckDB's .pl() imports it when it runs)
    import polars as pl

    from customs_etl.report.text import HalfYear


def partner_name(con: duckdb.DuckDBPyConnection, partner_iso3: str) -> str:
    row = con.execute(
        "select partner_name from marts.partners where partner_iso3 = ?", [partner_iso3]
    ).fetchone()
    return str(row[0]) if row else partner_iso3


# The monthly chart's span: three years of months, enough to read a season against the one
# before it. The yearly chart has the whole arc; a long monthly series (2013 onwards) squeezes
# its bars, and its change line is dwarfed by changes on the tiny months of early years.
MONTHLY_WINDOW = 36


def monthly_series(
    con: duckdb.DuckDBPyConnection, partner_iso3: str, period: HalfYear
) -> pl.DataFrame:
    """The partner's last MONTHLY_WINDOW months with figures, by flow; when the half reported is
    earlier than them, the MONTHLY_WINDOW months with figures from that half on instead (so its
    months are on the chart).
    The change on a year earlier only where the same month a year earlier has a monthly figure
    of its own: never against a missing month, a January-February cumulative or a year known
    only as a whole."""
    first_month = period.months[0]
    return con.execute(
        """
        with months as (
            select period, flow, value_usd, yoy_pct
            from marts.trade_monthly
            -- a January-February cumulative is not a month: a monthly chart leaves it out
            where partner_iso3 = $partner and flow in ('export', 'import')
              and months_covered = 1 and value_usd is not null
        ),
        periods as (select distinct period from months),
        latest as (select period from periods order by period desc limit $window),
        from_half as (
            select period from periods where period >= $half_first order by period limit $window
        ),
        shown as (
            select period from latest
            where $half_first >= coalesce((select min(period) from latest), $half_first)
            union all
            select period from from_half
            where $half_first < (select min(period) from latest)
        )
        select months.period, months.flow, months.value_usd,
               case when base.value_usd > 0 then months.yoy_pct end as yoy_pct
        from months
        left join months as base
            on base.flow = months.flow
           and base.period = cast(months.period - interval 1 year as date)
        where months.period in (select period from shown)
        order by months.flow, months.period
        """,
        {
            "partner": partner_iso3,
            "window": MONTHLY_WINDOW,
            "half_first": dt.date(period.year, first_month, 1),
        },
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
