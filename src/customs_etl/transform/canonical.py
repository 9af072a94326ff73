"""The canonical frames a release is parsed into (Polars in, Polars out): detailed-trade rows of
an export, and the preliminary rows of a preliminary table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import ReleaseFile
from customs_etl.settings import PROJECT_DIR

# DuckDB's types of core.trade_detailed as Polars types.
_POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "BIGINT": pl.Int64(),
    "TINYINT": pl.Int8(),
    "DATE": pl.Date(),
    "DOUBLE": pl.Float64(),
}
# What parsing adds that core.trade_detailed does not store: the partner's identity for the
# checks, and the commodity name as the export printed it (core.commodity_names keeps it once
# per code and release). The loader leaves exactly these out.
PARSE_ONLY_COLUMNS: dict[str, pl.DataType] = {
    "partner_iso3": pl.String(),
    "partner_name": pl.String(),
    "commodity_name_source": pl.String(),
}


def _stored_columns(ddl: Path) -> dict[str, pl.DataType]:
    """core.trade_detailed's columns and types, read from its DDL: the table declares them
    once, and the canonical frame follows it."""
    con = duckdb.connect()
    try:
        con.execute("create schema core")
        con.execute(ddl.read_text(encoding="utf-8"))
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'trade_detailed' order by ordinal_position"
        ).fetchall()
    finally:
        con.close()
    return {name: _POLARS_TYPES[kind] for name, kind in rows}


# The canonical long table: one row per period, flow, partner, commodity, regime and place.
CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    **_stored_columns(PROJECT_DIR / "sql" / "core" / "trade_detailed.sql"),
    **PARSE_ONLY_COLUMNS,
}
HS_LEVELS = (2, 4, 6, 8)


def to_canonical(
    parsed: pl.DataFrame, release: ReleaseFile, partners: pl.DataFrame, listed_codes: pl.Series
) -> pl.DataFrame:
    """Attach release, flow and partner identity; an unknown partner code is an error.

    The printed commodity name is kept only for a code the code lists lack (`listed_codes`):
    the only names core.commodity_descriptions uses. Kept for every row, they were 14 s of a
    12M-row backfill's load and most of its checkpoint (a row per release and code)."""
    frame = parsed.with_columns(
        release_id=pl.lit(release.release_id),
        flow=pl.lit(release.flow),
        hs_level=pl.col("hs_code").str.len_chars().cast(pl.Int8),
        commodity_name_source=pl.when(pl.col("hs_code").is_in(listed_codes.implode()))
        .then(None)
        .otherwise(pl.col("commodity_name_source")),
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


# Preliminary trade: one row per partner label and flow of a preliminary table.
PRELIMINARY_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String(),
    "source_row": pl.Int64(),
    "period_start": pl.Date(),  # first month covered: January for a January-February table
    "period": pl.Date(),  # last month covered
    "months_covered": pl.Int8(),
    "partner_label": pl.String(),
    "partner_key": pl.String(),  # the label as label_key makes it: how labels are matched
    "label_kind": pl.String(),  # partner | group | total; null when the label is unknown
    "partner_code": pl.String(),  # GACC code of a partner label, else null
    "flow": pl.String(),  # total | export | import
    "value_month": pl.Int64(),  # null in a January-February table (cumulative only)
    "value_ytd": pl.Int64(),
    "yoy_ytd_pct": pl.Float64(),
    "currency": pl.String(),
}


def label_key(label: pl.Expr) -> pl.Expr:
    """Letters and digits only, lower case: "Korea,Rep." and "Korea, Rep." are one label. The
    one rule for matching partner labels: kept as `partner_key` on every preliminary row, so
    SQL matches on that column rather than repeating it."""
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


def to_preliminary_rows(
    table: pl.DataFrame, release_id: str, partners: pl.DataFrame, labels: pl.DataFrame
) -> pl.DataFrame:
    """A parsed preliminary table with its release, first month and partner identity."""
    months_back = pl.col("months_covered").cast(pl.Int32) - 1
    frame = table.with_columns(
        release_id=pl.lit(release_id),
        period_start=pl.col("period").dt.offset_by(pl.format("-{}mo", months_back)),
        partner_key=label_key(pl.col("partner_label")),
    ).join(partner_labels(partners, labels), left_on="partner_key", right_on="key", how="left")
    return frame.select([pl.col(c).cast(t) for c, t in PRELIMINARY_SCHEMA.items()]).sort(
        "source_row", "flow"
    )
