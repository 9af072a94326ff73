"""Detailed totals against the preliminary tables (marts.preliminary_cross_check): each
disagreement is a warning with both figures, never a refusal and never averaged."""

from __future__ import annotations

import datetime as dt

import polars as pl


def cross_check_warnings(cross_check: pl.DataFrame) -> list[str]:
    """One line per disagreement of marts.preliminary_cross_check, with both figures."""
    return [
        f"{row['partner_iso3']} {row['flow']} {_span(row)}: detailed "
        f"{row['value_detailed']:,} {row['currency']} vs preliminary "
        f"{row['value_preliminary']:,} ({row['difference_pct']:+.2f}%, tolerance "
        f"{row['tolerance']:,}) in {row['preliminary_source_name']}"
        for row in cross_check.filter(~pl.col("within_tolerance")).iter_rows(named=True)
    ]


def _span(row: dict[str, object]) -> str:
    start, end = row["period"], row["period_end"]
    assert isinstance(start, dt.date) and isinstance(end, dt.date)
    return f"{start:%Y-%m}" if start == end else f"{start:%Y-%m}..{end:%Y-%m}"
