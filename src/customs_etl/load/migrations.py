"""What a warehouse published by an earlier version needs before (and after) this version's
DDL, run by every build: renamed tables keep their rows, columns added since are filled. Each
step does nothing on a warehouse that already has it. See warehouse/README.md, Changes."""

from __future__ import annotations

import duckdb

# old name -> new name (one word per concept: "preliminary", not "headline").
RENAMED_TABLES = {"core.trade_headline": "trade_preliminary"}
# Views are rebuilt by every build, so a renamed view's old name is only dropped.
DROPPED_VIEWS = ("core.trade_headline_latest",)


def before_ddl(con: duckdb.DuckDBPyConnection) -> None:
    for view in DROPPED_VIEWS:
        con.execute(f"drop view if exists {view}")
    for old, new in RENAMED_TABLES.items():
        con.execute(f"alter table if exists {old} rename to {new}")


def after_ddl(con: duckdb.DuckDBPyConnection) -> None:
    _fill_partner_keys(con)


def _fill_partner_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Preliminary rows loaded before `partner_key` existed get it from the one rule that
    makes it (canonical.label_key), not from a copy of that rule in SQL."""
    labels = con.execute(
        "select distinct partner_label from core.trade_preliminary where partner_key is null"
    ).pl()
    if labels.is_empty():
        return
    # Here, not at the top: the models module imports this one, and a run that finds nothing
    # new needs neither polars nor the parsers (canonical imports them).
    import polars as pl

    from customs_etl.transform.canonical import label_key

    keys = labels.with_columns(partner_key=label_key(pl.col("partner_label")))
    con.register("partner_keys", keys)
    try:
        con.execute(
            "update core.trade_preliminary as preliminary set partner_key = keys.partner_key "
            "from partner_keys as keys "
            "where preliminary.partner_label = keys.partner_label "
            "and preliminary.partner_key is null"
        )
    finally:
        con.unregister("partner_keys")
