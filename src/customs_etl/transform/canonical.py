"""Staged export -> the canonical detailed-trade frame (Polars in, Polars out)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import ReleaseFile

# The canonical long table: one row per period, flow, partner, commodity, regime and place.
CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String(),
    "source_row": pl.Int64(),
    "period": pl.Date(),
    "flow": pl.String(),
    "partner_code": pl.String(),
    "partner_iso3": pl.String(),
    "partner_name": pl.String(),
    "hs_code": pl.String(),
    "hs_level": pl.Int8(),
    "customs_regime_code": pl.String(),
    "registration_place_code": pl.String(),
    "quantity": pl.Float64(),
    "quantity_unit": pl.String(),
    "supplementary_quantity": pl.Float64(),
    "supplementary_unit": pl.String(),
    "value": pl.Int64(),
    "currency": pl.String(),
}
HS_LEVELS = (2, 4, 6, 8)


def to_canonical(
    staged: pl.DataFrame, release: ReleaseFile, partners: pl.DataFrame
) -> pl.DataFrame:
    """Attach release, flow and partner identity; an unknown partner code is an error."""
    frame = staged.with_columns(
        release_id=pl.lit(release.release_id),
        flow=pl.lit(release.flow),
        hs_level=pl.col("hs_code").str.len_chars().cast(pl.Int8),
    ).join(
        partners.select("partner_code", "partner_iso3", partner_name="partner_name_en"),
        on="partner_code",
        how="left",
    )
    _check_partners_known(frame, release.source_name)
    return frame.select([pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()]).sort("source_row")


def release_period(frame: pl.DataFrame, source_name: str) -> dt.date:
    """A query export covers one month; more than one is a file we do not understand yet."""
    periods = frame["period"].unique().sort()
    if periods.len() != 1:
        raise ReleaseError(
            source_name,
            "the file covers more than one month",
            field="period",
            expected="one month per file",
            found=[p.strftime("%Y%m") for p in periods.to_list()[:5]],
        )
    return periods[0]


def release_hs_level(frame: pl.DataFrame, source_name: str) -> int:
    """One commodity-code length per file, as the platform exports it."""
    levels = frame["hs_level"].unique().sort().to_list()
    if len(levels) != 1 or levels[0] not in HS_LEVELS:
        raise ReleaseError(
            source_name,
            "commodity codes must all have one length of 2, 4, 6 or 8 digits",
            field="hs_code",
            expected="one HS level per file",
            found=levels,
        )
    return int(levels[0])


def _check_partners_known(frame: pl.DataFrame, source_name: str) -> None:
    unknown = frame.filter(pl.col("partner_iso3").is_null())
    if unknown.height:
        first = unknown.row(0, named=True)
        codes = sorted(unknown["partner_code"].unique().to_list())
        raise ReleaseError(
            source_name,
            f"{unknown.height} row(s) have partner codes not in the GACC code list ({codes[:5]})",
            row=first["source_row"],
            field="partner_code",
            expected="a GACC partner code from seeds/partners.csv",
            found=first["partner_code"],
        )


# Preliminary ("headline") trade: one row per partner label and flow of a preliminary table.
HEADLINE_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String(),
    "source_row": pl.Int64(),
    "period_start": pl.Date(),  # first month covered: January for a January-February table
    "period": pl.Date(),  # last month covered
    "months_covered": pl.Int8(),
    "partner_label": pl.String(),
    "label_kind": pl.String(),  # partner | group | total; null when the label is unknown
    "partner_code": pl.String(),  # GACC code of a partner label, else null
    "flow": pl.String(),  # total | export | import
    "value_month": pl.Int64(),  # null in a January-February table (cumulative only)
    "value_ytd": pl.Int64(),
    "yoy_ytd_pct": pl.Float64(),
    "currency": pl.String(),
}


def label_key(label: pl.Expr) -> pl.Expr:
    """Letters and digits only, lower case: "Korea,Rep." and "Korea, Rep." are one label."""
    return label.str.to_lowercase().str.replace_all(r"[^0-9a-z]", "")


def partner_labels(partners: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """label key -> (label_kind, partner_code): the seed's labels first, then partner names."""
    by_name = partners.select(
        key=label_key(pl.col("partner_name_en")),
        label_kind=pl.lit("partner"),
        partner_code="partner_code",
    )
    curated = labels.select(
        key=label_key(pl.col("partner_label")),
        label_kind="label_kind",
        partner_code=pl.col("partner_code").replace("", None),
    )
    return pl.concat([curated, by_name]).unique("key", keep="first", maintain_order=True)


def to_headline(
    table: pl.DataFrame, release_id: str, partners: pl.DataFrame, labels: pl.DataFrame
) -> pl.DataFrame:
    """A parsed preliminary table with its release, first month and partner identity."""
    months_back = pl.col("months_covered").cast(pl.Int32) - 1
    frame = (
        table.with_columns(
            release_id=pl.lit(release_id),
            period_start=pl.col("period").dt.offset_by(pl.format("-{}mo", months_back)),
            key=label_key(pl.col("partner_label")),
        )
        .join(partner_labels(partners, labels), on="key", how="left")
        .drop("key")
    )
    return frame.select([pl.col(c).cast(t) for c, t in HEADLINE_SCHEMA.items()]).sort(
        "source_row", "flow"
    )


# What a preliminary table's figures must agree with: its rounding (each cell is printed to
# 0.1 of the unit, so a total and its two parts may differ by up to 0.15 of it).
TABLE_ROUNDING = {"USD": 150_000, "CNY": 15_000_000}
NEIGHBOUR_SCHEMA = {"key": pl.String, "flow": pl.String, "period": pl.Date, "value_ytd": pl.Int64}


def preliminary_checks(headline: pl.DataFrame, neighbours: pl.DataFrame) -> pl.DataFrame:
    """The headline rows plus the columns the preliminary_table suite checks: total minus
    exports and imports, and the January-to-month change against the previous and next
    months' tables of the same year (`neighbours`: key, flow, period, value_ytd)."""
    frame = headline.with_columns(key=label_key(pl.col("partner_label")))
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
