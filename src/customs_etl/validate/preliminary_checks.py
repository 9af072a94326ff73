"""The checks of a preliminary table: its figures against its own rounding and against the
neighbouring months' tables already loaded, run through the preliminary_table suite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from customs_etl.transform.parse import ParsedRelease, read_parsed
from customs_etl.validate.expectations import ValidationOutcome, validate_preliminary_table

# What a preliminary table's figures must agree with: its rounding (each cell is printed to
# 0.1 of the unit, so a total and its two parts may differ by up to 0.15 of it).
TABLE_ROUNDING = {"USD": 150_000, "CNY": 15_000_000}
NEIGHBOUR_SCHEMA = {"key": pl.String, "flow": pl.String, "period": pl.Date, "value_ytd": pl.Int64}


def preliminary_checks(rows: pl.DataFrame, neighbours: pl.DataFrame) -> pl.DataFrame:
    """The preliminary rows plus the columns the preliminary_table suite checks: total minus
    exports and imports, and the January-to-month change against the previous and next
    months' tables of the same year (`neighbours`: key, flow, period, value_ytd)."""
    frame = rows.with_columns(key=pl.col("partner_key"))
    parts = (
        frame.filter(pl.col("flow") != "total")
        .group_by("key")
        .agg(
            parts_month=_sum_of_both("value_month"),
            parts_ytd=_sum_of_both("value_ytd"),
        )
    )
    is_total = pl.col("flow") == "total"
    return (
        frame.join(parts, on="key", how="left")
        .with_columns(
            total_minus_parts_month=pl.when(is_total).then(pl.col("value_month") - "parts_month"),
            total_minus_parts_ytd=pl.when(is_total).then(pl.col("value_ytd") - "parts_ytd"),
            ytd_change_from_previous_table=pl.col("value_ytd")
            - _neighbour_ytd(frame, neighbours, months=-1),
            ytd_excess_over_next_table=pl.col("value_ytd")
            - _neighbour_ytd(frame, neighbours, months=1),
        )
        .drop("key", "parts_month", "parts_ytd")
    )


def _sum_of_both(column: str) -> pl.Expr:
    return pl.when(pl.col(column).null_count() == 0).then(pl.col(column).sum())


def _neighbour_ytd(frame: pl.DataFrame, neighbours: pl.DataFrame, months: int) -> pl.Series:
    """The neighbouring month's January-to-month value for each row, null where there is none
    (another year, or not loaded)."""
    wanted = frame.select(
        "key",
        "flow",
        period=pl.col("period").dt.offset_by(f"{months}mo"),
        year=pl.col("period").dt.year(),
    ).with_row_index("position")
    found = wanted.join(
        neighbours.select("key", "flow", "period", neighbour_ytd="value_ytd"),
        on=["key", "flow", "period"],
        how="left",
    ).filter(pl.col("period").dt.year() == pl.col("year"))
    return wanted.join(found.select("position", "neighbour_ytd"), on="position", how="left").sort(
        "position"
    )["neighbour_ytd"]


def validate_preliminary_release(
    parsed: ParsedRelease, expectations_dir: Path, neighbours: pl.DataFrame | None = None
) -> ValidationOutcome:
    """The preliminary_table suite over a parsed table, checked against the neighbouring
    months' tables already loaded (`neighbours`, from registry.preliminary_neighbours).
    Detailed exports are validated in batches (batches.validate_parsed_batch)."""

    checks = preliminary_checks(
        read_parsed(parsed), neighbours if neighbours is not None else _no_neighbours()
    )
    return validate_preliminary_table(
        checks,
        release_period=dt.date.fromisoformat(parsed.period),
        currency=parsed.currency,
        rounding=TABLE_ROUNDING[parsed.currency],
        context_dir=expectations_dir,
    )


def _no_neighbours() -> pl.DataFrame:
    return pl.DataFrame(schema=NEIGHBOUR_SCHEMA)
