"""Revised figures (marts.trade_revisions) in words, for the run summary and the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from customs_etl.load.connection import literal
from customs_etl.report.formatting import percent, signed_whole, whole

# A revision as a row: column name -> value, as DuckDB returns them.
Row = dict[str, Any]

_COLUMNS = """
    period, partner_iso3, flow, source_kind, source_name, value_usd_before, value_usd_after,
    change_usd, change_pct, release_id_before, release_id_after, known_on_before, known_on_after
"""


def revisions_between(
    con: duckdb.DuckDBPyConnection,
    partner_iso3: str | None,
    first: dt.date,
    last: dt.date,
) -> list[Row]:
    """Revisions of the months first..last (first days), of one partner or of all. Every
    `customs-etl run` prints them, also when nothing new arrived: literals and fetchall, not
    parameters and a frame (which import pandas and pyarrow; load/connection.py's literal)."""
    partner = literal(partner_iso3)
    return _rows(
        con.execute(
            f"""
            select {_COLUMNS} from marts.trade_revisions
            where period between {literal(first)} and {literal(last)}
              and ({partner} is null or partner_iso3 = {partner})
            order by period, partner_iso3, flow, known_on_after
            """
        )
    )


def revisions_by_sources(con: duckdb.DuckDBPyConnection, source_names: list[str]) -> list[Row]:
    """Revisions made by the releases loaded under these names (a run's releases): the figure
    the new vintage replaced and by how much."""
    if not source_names:
        return _rows(con.execute(f"select {_COLUMNS} from marts.trade_revisions limit 0"))
    return _rows(
        con.execute(
            f"""
            select {_COLUMNS} from marts.trade_revisions
            where release_id_after in (
                select release_id from meta.releases where list_contains(?, source_name)
            )
            order by period, partner_iso3, flow, known_on_after
            """,
            [source_names],
        )
    )


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[Row]:
    columns = [column[0] for column in cursor.description or []]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def revision_line(row: Row) -> str:
    """'2025-06 USA export (preliminary table): 36,339,700,000 -> 36,632,800,000 USD
    (+293,100,000, +0.81%); known 2025-07-14, revised 2025-08-08'."""
    period = row["period"]
    month = period.strftime("%Y-%m") if isinstance(period, dt.date) else str(period)
    kind = "preliminary table" if row["source_kind"] == "preliminary" else "detailed export"
    pct = row["change_pct"]
    pct_text = "" if pct is None else f", {percent(pct, digits=2)}"
    return (
        f"{month} {row['partner_iso3']} {row['flow']} ({kind} {row['source_name']}): "
        f"{whole(row['value_usd_before'])} -> {whole(row['value_usd_after'])} USD "
        f"({signed_whole(row['change_usd'])}{pct_text}); known {row['known_on_before']}, "
        f"revised {row['known_on_after']}"
    )


def revision_lines(rows: list[Row]) -> list[str]:
    return [revision_line(row) for row in rows]
