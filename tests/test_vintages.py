"""Vintages, precedence and the landing zone, with the plain functions the flow calls and real
DuckDB files: revisions, out-of-order arrival, January-February, detailed over preliminary,
as-of, and the cross-check."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support import FIXTURES, SEEDS_DIR, SQL_DIR, export_file

from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release, published_on_in, slot_name
from customs_etl.load import connection, loader, models, registry
from customs_etl.publish import as_of_copy
from customs_etl.transform import parse
from customs_etl.validate import cross_check

PRELIMINARY = FIXTURES / "preliminary"


def load_all(db: Path, landing: Path, names: list[str], work: Path) -> None:
    """Receive into the landing zone, stage and load in the given order, then build."""
    zone = LandingZone(work / "zone")
    con = connection.connect(db)
    models.prepare_schema(con, SQL_DIR)
    for name in names:
        release = zone.receive(describe_release(landing / name, landing_dir=landing))
        staged = parse.parse_release(release, work / "staging", SEEDS_DIR)
        loader.load_release(con, staged.path, registry.loaded_record(staged))
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_publication_date_in_a_name_orders_vintages_and_leaves_the_slot() -> None:
    name = "export/2025-03/prk_hs8.published-2025-04-20.csv"
    assert published_on_in(name) == dt.date(2025, 4, 20)
    assert slot_name(name) == "export/2025-03/prk_hs8.csv"
    assert published_on_in("export/2025-03/prk_hs8.csv") is None
    assert published_on_in("x_published_20250420.html") == dt.date(2025, 4, 20)


def test_the_landing_zone_keeps_bytes_once_and_every_receipt(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    first = export_file(landing / "export" / "2025-03", "a.csv", "202503", [("109", "6704", 5)])
    copy = landing / "export" / "2025-03" / "b.csv"
    shutil.copy(first, copy)
    zone = LandingZone(tmp_path / "zone")
    kept = [zone.receive(describe_release(p, landing_dir=landing)) for p in (first, copy, first)]

    assert kept[0].path == kept[1].path  # one object for the same bytes
    assert kept[0].path.read_bytes() == first.read_bytes()
    assert kept[0].path.name == f"{kept[0].release_id}.csv"
    assert not os.stat(kept[0].path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    entries = zone.entries()
    assert [
        (e.origin, e.source, e.kind, e.format, e.period, e.currency, e.flow) for e in entries
    ] == [
        ("export/2025-03/a.csv", "dropped", "detailed_export", "csv", "2025-03", "USD", "export"),
        ("export/2025-03/b.csv", "dropped", "detailed_export", "csv", "2025-03", "USD", "export"),
    ]
    first.unlink()  # the drop folder may be cleaned up: the zone still has the file
    assert kept[0].path.is_file()


def test_a_revision_changes_the_marts_in_either_order_and_the_old_figure_stays(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    folder = landing / "export" / "2025-03"
    export_file(folder, "prk.published-2025-04-20.csv", "202503", [("109", "6704", 1_000)])
    export_file(folder, "prk.published-2025-06-20.csv", "202503", [("109", "6704", 1_250)])
    names = [
        "export/2025-03/prk.published-2025-04-20.csv",
        "export/2025-03/prk.published-2025-06-20.csv",
    ]
    in_order, out_of_order = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    load_all(in_order, landing, names, tmp_path / "w1")
    load_all(out_of_order, landing, names[::-1], tmp_path / "w2")

    monthly = "select * from marts.trade_monthly order by all"
    assert query(in_order, monthly) == query(out_of_order, monthly)
    assert query(in_order, "select value_usd from marts.trade_monthly where flow = 'export'") == [
        (1_250,)
    ]
    # Both vintages stay in core, each with its release and publication date.
    assert query(
        out_of_order,
        "select r.published_on, sum(t.value) from core.trade_detailed t "
        "join meta.releases r using (release_id) group by all order by 1",
    ) == [(dt.date(2025, 4, 20), 1_000), (dt.date(2025, 6, 20), 1_250)]


def test_a_january_february_table_is_one_period_until_monthly_detail_arrives(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    table = landing / "preliminary" / "2026-02" / "prelim_202602.published-2026-03-09.html"
    table.parent.mkdir(parents=True)
    shutil.copy(PRELIMINARY / "prelim_202602_janfeb_usd.html", table)
    db = tmp_path / "w.duckdb"
    load_all(db, landing, ["preliminary/2026-02/" + table.name], tmp_path / "w")

    usa = (
        "select period, period_end, months_covered, value_usd, source_kind "
        "from marts.trade_monthly where partner_iso3 = 'USA' and flow = 'export' order by period"
    )
    [(period, period_end, months, value, kind)] = query(db, usa)
    assert (period, period_end, months, kind) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        2,
        "preliminary",
    )
    assert value == 65_125_200_000  # the table's "65,125.2" in USD1 Million, exactly
    assert query(
        db,
        "select months_covered, value_usd from marts.trade_half_year "
        "where partner_iso3 = 'USA' and flow = 'export' and year = 2026",
    ) == [(2, 65_125_200_000)]

    # January's detailed data arrives: the cumulative gives way, nothing is split by guess.
    export_file(landing / "export" / "2026-01", "usa.csv", "202601", [("502", "8517", 7_000)])
    db2 = tmp_path / "w2.duckdb"
    load_all(
        db2,
        landing,
        ["preliminary/2026-02/" + table.name, "export/2026-01/usa.csv"],
        tmp_path / "w2",
    )
    assert query(db2, usa) == [(dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1, 7_000, "detailed")]


def test_as_of_shows_what_was_known_on_a_past_date(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / "export" / "2025-03"
    export_file(folder, "prk.published-2025-04-20.csv", "202503", [("109", "6704", 1_000)])
    export_file(folder, "prk.published-2025-06-20.csv", "202503", [("109", "6704", 1_250)])
    db = tmp_path / "customs.duckdb"
    load_all(
        db,
        landing,
        [
            "export/2025-03/prk.published-2025-04-20.csv",
            "export/2025-03/prk.published-2025-06-20.csv",
        ],
        tmp_path / "w",
    )
    values = "select value_usd from marts.trade_monthly where flow = 'export'"
    # The commodity marts too: their figures are kept in core (core.commodity_monthly, ...).
    by_commodity = (
        "select hs_level, value_usd from marts.trade_by_commodity_monthly where flow = 'export' "
        "union all select hs_level, value_usd from marts.trade_by_commodity_half_year "
        "where flow = 'export' order by all"
    )
    may = as_of_copy.build_as_of(db, dt.date(2025, 5, 1), SQL_DIR, SEEDS_DIR)
    july = as_of_copy.build_as_of(db, dt.date(2025, 7, 1), SQL_DIR, SEEDS_DIR)
    april = as_of_copy.build_as_of(db, dt.date(2025, 4, 1), SQL_DIR, SEEDS_DIR)
    assert may == tmp_path / "as_of" / "customs-2025-05-01.duckdb"
    assert (query(may, values), query(july, values), query(april, values)) == (
        [(1_000,)],
        [(1_250,)],
        [],
    )
    assert query(may, by_commodity) == [(2, 1_000), (2, 1_000), (4, 1_000), (4, 1_000)]
    assert query(july, by_commodity) == [(2, 1_250), (2, 1_250), (4, 1_250), (4, 1_250)]
    assert query(april, by_commodity) == []
    assert query(db, values) == [(1_250,)]  # the published warehouse is untouched


def test_detailed_data_wins_over_the_table_and_disagreements_are_reported(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    table = landing / "preliminary" / "2026-03" / "prelim_202603_usd.html"
    table.parent.mkdir(parents=True)
    shutil.copy(PRELIMINARY / "prelim_202603_usd.html", table)
    # Japan's March exports per the table: 12,810.3 USD1 Million. Detailed: 0.29% off, and far off.
    export_file(
        landing / "export" / "2026-03", "jpn.csv", "202603", [("116", "85", 12_848_000_000)]
    )
    export_file(landing / "import" / "2026-03", "jpn.csv", "202603", [("116", "85", 1)])
    db = tmp_path / "w.duckdb"
    load_all(
        db,
        landing,
        [
            "preliminary/2026-03/prelim_202603_usd.html",
            "export/2026-03/jpn.csv",
            "import/2026-03/jpn.csv",
        ],
        tmp_path / "w",
    )
    assert query(
        db,
        "select flow, value_usd, source_kind from marts.trade_monthly "
        "where partner_iso3 = 'JPN' and period = '2026-03-01' order by flow",
    ) == [
        ("export", 12_848_000_000, "detailed"),
        ("import", 1, "detailed"),
        ("total", 12_848_000_001, "detailed"),
    ]
    checks = pl.read_database(
        "select flow, value_detailed, value_preliminary, within_tolerance "
        "from marts.preliminary_cross_check where partner_iso3 = 'JPN' order by flow",
        duckdb.connect(str(db), read_only=True),
    )
    export_row = checks.row(0, named=True)
    assert export_row["value_preliminary"] == 12_810_300_000
    assert export_row["within_tolerance"] is True  # 0.29% <= 0.5%
    assert checks.filter(pl.col("flow") == "import")["within_tolerance"].to_list() == [False]
    con = duckdb.connect(str(db), read_only=True)
    warnings = cross_check.cross_check_warnings(
        con.execute("select * from marts.preliminary_cross_check").pl()
    )
    con.close()
    assert any(w.startswith("JPN import 2026-03: detailed 1 USD vs preliminary") for w in warnings)
    assert not any(w.startswith("JPN export") for w in warnings)


@pytest.mark.parametrize("currency_fixture", ["prelim_202603_usd.html", "prelim_202603_cny.html"])
def test_usd_and_cny_tables_are_separate_series(tmp_path: Path, currency_fixture: str) -> None:
    landing = tmp_path / "landing"
    for name in ("prelim_202603_usd.html", "prelim_202603_cny.html"):
        (landing / "preliminary" / "2026-03").mkdir(parents=True, exist_ok=True)
        shutil.copy(PRELIMINARY / name, landing / "preliminary" / "2026-03" / name)
    db = tmp_path / "w.duckdb"
    order = ["prelim_202603_usd.html", "prelim_202603_cny.html"]
    if currency_fixture.endswith("cny.html"):
        order.reverse()
    load_all(db, landing, [f"preliminary/2026-03/{n}" for n in order], tmp_path / "w")
    [(usd, cny)] = query(
        db,
        "select value_usd, value_cny from marts.trade_monthly "
        "where partner_iso3 = 'USA' and flow = 'export' and period = '2026-03-01'",
    )
    assert usd == 36_105_200_000
    assert (
        cny is not None and cny != usd and cny % 1_000_000 == 0
    )  # printed to 0.01 of CNY 100 Million


def test_the_same_name_for_another_month_is_another_download(tmp_path: Path) -> None:
    """`customs-etl ingest export.csv` every month: each month stays, none revises another."""
    landing = tmp_path / "landing"
    db = tmp_path / "w.duckdb"
    for month, value in (("202503", 100), ("202504", 200)):
        export_file(landing / "export", "prk.csv", month, [("109", "6704", value)])
        load_all(db, landing, ["export/prk.csv"], tmp_path / month)
    assert query(
        db, "select period, value_usd from marts.trade_monthly where flow = 'export' order by 1"
    ) == [(dt.date(2025, 3, 1), 100), (dt.date(2025, 4, 1), 200)]


def test_as_of_works_on_a_warehouse_published_before_the_commodity_figures_moved_to_core(
    tmp_path: Path,
) -> None:
    """Until its next run, a warehouse published by an earlier version has the commodity marts
    as tables and no core.commodity_monthly: an as-of copy of it builds them all the same."""
    landing = tmp_path / "landing"
    name = "prk.published-2025-03-20.csv"
    export_file(landing / "export" / "2025-03", name, "202503", [("109", "6704", 1_000)])
    db = tmp_path / "customs.duckdb"
    load_all(db, landing, [f"export/2025-03/{name}"], tmp_path / "w")
    con = duckdb.connect(str(db))
    for grain in ("monthly", "half_year"):
        con.execute(f"drop view marts.trade_by_commodity_{grain}")
        con.execute(f"create table marts.trade_by_commodity_{grain} as select 1 as stale")
    # nor any of core's commodity objects (the half-year figures are now a view, not a table)
    con.execute("drop view core.commodity_half_year")
    con.execute("drop table core.commodity_partner_months")
    con.execute("drop table core.commodity_monthly")
    con.close()

    april = as_of_copy.build_as_of(db, dt.date(2025, 4, 1), SQL_DIR, SEEDS_DIR)

    assert sorted(
        query(april, "select hs_code, value_usd from marts.trade_by_commodity_monthly")
    ) == [("67", 1_000), ("6704", 1_000)]
