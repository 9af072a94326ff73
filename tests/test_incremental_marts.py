"""Incremental marts: a warehouse whose marts were rebuilt only for the months each run touched
equals, table by table, the same warehouse rebuilt in full; a changed model or seed forces a full
rebuild. Real DuckDB files, the plain functions the flow calls, and once the flow itself."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest
from support import (
    FIXTURES,
    SAMPLE_LANDING,
    SEEDS_DIR,
    SQL_DIR,
    export_file,
    run_job,
    table_rows,
)

from customs_etl.errors import RejectedReleasesError, ReleaseError
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.transform import parse

INCREMENTAL = (
    "core.trade_detailed_totals",
    "core.commodity_monthly",
    "core.commodity_partner_months",
    "marts.trade_under_measures_monthly",
    "marts.trade_under_measures_share_half_year",
)
# The marts rebuilt a year (or half) at a time, with the years (halves) a year later.
BY_YEAR = (
    "marts.trade_monthly",
    "marts.trade_half_year",
    "marts.trade_yearly",
    "marts.trade_monthly_sources",
    "marts.trade_revisions",
    "marts.preliminary_cross_check",
    "marts.trade_under_measures_half_year",
)
# PRK lines under UN measures (crude oil out, iron ore in) and other partners' trade.
MARCH_2024 = [("109", "27090000", 100), ("109", "84099999", 50), ("502", "85171200", 70)]


def run(
    db: Path,
    landing: Path,
    names: list[str],
    work: Path,
    sql_dir: Path = SQL_DIR,
    seeds_dir: Path = SEEDS_DIR,
) -> list[dt.date]:
    """One run as the flow does it: load what passes, record what is refused, then rebuild the
    marts for the months touched. Returns those months."""
    con = connection.connect(db)
    try:
        models.prepare_schema(con, sql_dir)
        loaded = [name for name in names if _load(con, landing, name, work, seeds_dir)]
        touched = registry.touched_periods(con, loaded)
        models.build_models(con, sql_dir, seeds_dir, touched_periods=touched)
    finally:
        con.close()
    return touched


def _load(
    con: duckdb.DuckDBPyConnection, landing: Path, name: str, work: Path, seeds: Path
) -> bool:
    release = describe_release(landing / name, landing_dir=landing)
    try:
        staged = parse.parse_release(release, work / "staging", seeds)
        loader.load_release(con, staged.path, registry.loaded_record(staged))
    except ReleaseError as error:
        record = registry.rejected_record(
            release.release_id, name, release.size_bytes, error.message(), release.flow
        )
        registry.record_release(con, record)
        return False
    return True


def rebuilt_in_full(
    db: Path,
    sql_dir: Path = SQL_DIR,
    seeds_dir: Path = SEEDS_DIR,
    chunk_months: int | None = None,
) -> Path:
    """A copy of the warehouse with every mart dropped and built again from all of core (by
    default in one statement per model, the plain definition, not in chunks of months)."""
    copy = db.with_name(f"full{chunk_months or ''}-{db.name}")
    shutil.copy2(db, copy)
    con = connection.connect(copy)
    try:
        con.execute("drop schema marts cascade")
        con.execute("create schema marts")
        con.execute("delete from meta.models")
        models.build_models(con, sql_dir, seeds_dir, chunk_months=chunk_months)
    finally:
        con.close()
    return copy


def marts(db: Path) -> dict[str, list[tuple]]:
    """The rows of every mart and of every incremental table in core, by table name."""
    return table_rows(
        db,
        "table_schema = 'marts' or table_schema || '.' || table_name in ?",
        [list(INCREMENTAL)],
    )


def last_builds(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select model, last_build from meta.models").fetchall())
    finally:
        con.close()


def statuses(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select source_name, status from meta.releases").fetchall())
    finally:
        con.close()


def assert_same_as_full_rebuild(db: Path, **dirs: Path) -> None:
    incremental, full = marts(db), marts(rebuilt_in_full(db, **dirs))
    assert list(incremental) == list(full)
    for table, rows in full.items():
        assert incremental[table] == rows, table
    assert all(rows for table, rows in full.items() if table in INCREMENTAL)
    assert set(INCREMENTAL) <= set(full)


def first_run(landing: Path) -> list[str]:
    export_file(landing / "export/2024-03", "prk.csv", "202403", MARCH_2024)
    export_file(landing / "import/2024-03", "prk.csv", "202403", [("109", "26011100", 40)])
    export_file(landing / "export/2024-08", "prk.csv", "202408", [("109", "27090000", 30)])
    export_file(landing / "export/2025-03", "prk.csv", "202503", [("109", "27090000", 200)])
    return [
        "export/2024-03/prk.csv",
        "import/2024-03/prk.csv",
        "export/2024-08/prk.csv",
        "export/2025-03/prk.csv",
    ]


def test_incremental_runs_end_in_the_marts_of_a_full_rebuild(tmp_path: Path) -> None:
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    run(db, landing, first_run(landing), work)
    assert set(last_builds(db).values()) == {"full"}  # no registry before: a full build

    # A revision of March 2024 (its half, and the same half a year later, change), a new
    # month, and a file that repeats rows of another (refused at load).
    revised = [("109", "27090000", 150), ("109", "84099999", 50)]
    export_file(landing / "export/2024-03", "prk.csv", "202403", revised)
    july = [("109", "27090000", 5), ("116", "85171200", 9)]
    export_file(landing / "export/2025-07", "prk.csv", "202507", july)
    export_file(landing / "export/2025-07", "again.csv", "202507", july[:1])
    names = ["export/2024-03/prk.csv", "export/2025-07/prk.csv", "export/2025-07/again.csv"]
    touched = run(db, landing, names, work)
    assert touched == [dt.date(2024, 3, 1), dt.date(2025, 7, 1)]
    builds = last_builds(db)
    assert {builds[name] for name in INCREMENTAL} == {"units"}
    assert statuses(db)["export/2025-07/again.csv"] == "rejected"
    assert_same_as_full_rebuild(db)

    # A coarser file for a month already at 8 digits (the finest level wins), and a
    # January-February preliminary table (two months, detailed marts untouched).
    export_file(landing / "export/2025-03", "hs4.csv", "202503", [("109", "2709", 999)])
    shutil.copy(FIXTURES / "preliminary/prelim_202602_janfeb_usd.html", landing)
    touched = run(db, landing, ["export/2025-03/hs4.csv", "prelim_202602_janfeb_usd.html"], work)
    assert touched == [dt.date(2025, 3, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    assert_same_as_full_rebuild(db)


@pytest.mark.parametrize("chunk_months", [1, 2, 7])
def test_a_full_build_in_chunks_of_months_equals_one_statement(
    tmp_path: Path, chunk_months: int
) -> None:
    """Months across two years and halves, a January-February preliminary table: chunks of one
    month, of two (across the boundary of a half) and of seven give the same rows."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    names = first_run(landing)
    export_file(landing / "export/2025-07", "prk.csv", "202507", [("109", "27090000", 5)])
    export_file(landing / "export/2024-06", "hs4.csv", "202406", [("502", "8517", 9)])
    shutil.copy(FIXTURES / "preliminary/prelim_202602_janfeb_usd.html", landing)
    names += ["export/2025-07/prk.csv", "export/2024-06/hs4.csv", "prelim_202602_janfeb_usd.html"]
    run(db, landing, names, work)
    chunked, plain = rebuilt_in_full(db, chunk_months=chunk_months), rebuilt_in_full(db)
    assert marts(chunked) == marts(plain)
    assert all(marts(plain)[table] for table in INCREMENTAL)


def test_a_run_rebuilds_the_months_of_every_vintage_it_replaces(tmp_path: Path) -> None:
    """An ingested file keeps its name from month to month: the new month's file is a new
    vintage of the same download, so the earlier month's rows leave the marts too."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    export_file(landing / "export", "prk.csv", "202503", [("109", "27090000", 1)])
    run(db, landing, ["export/prk.csv"], work)
    export_file(landing / "export", "prk.csv", "202504", [("109", "27090000", 2)])
    assert run(db, landing, ["export/prk.csv"], work) == [dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    assert_same_as_full_rebuild(db)


@pytest.mark.parametrize("changed", ["model", "seed"])
def test_a_changed_model_or_seed_rebuilds_in_full(tmp_path: Path, changed: str) -> None:
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    sql_dir, seeds_dir = tmp_path / "sql", tmp_path / "seeds"
    shutil.copytree(SQL_DIR, sql_dir)
    shutil.copytree(SEEDS_DIR, seeds_dir)
    run(db, landing, first_run(landing), work, sql_dir, seeds_dir)
    if changed == "model":
        model = sql_dir / "core/commodity_monthly.sql"
        old = "cast(rolled_up.value_usd as bigint)"
        model.write_text(model.read_text().replace(old, f"2 * {old}"))
    else:
        partners = seeds_dir / "partners.csv"
        partners.write_text(partners.read_text().replace("Korea,DPR", "DPR Korea"))
    export_file(landing / "export/2025-04", "prk.csv", "202504", [("109", "27090000", 5)])
    run(db, landing, ["export/2025-04/prk.csv"], work, sql_dir, seeds_dir)

    builds = last_builds(db)
    assert builds["core.commodity_monthly"] == "full"
    assert builds["core.commodity_partner_months"] == "full"  # it reads the changed model
    if changed == "model":  # the under-measures marts read neither the model nor partners.csv
        assert builds["marts.trade_under_measures_monthly"] == "units"
    assert_same_as_full_rebuild(db, sql_dir=sql_dir, seeds_dir=seeds_dir)


@pytest.mark.parametrize(
    "table", ["commodity_monthly", "trade_detailed_totals", "trade_under_measures_monthly"]
)
def test_the_months_filter_reaches_the_scan_of_core(tmp_path: Path, table: str) -> None:
    """EXPLAIN ANALYZE: rebuilding one month reads that month's rows of core.trade_detailed
    from the scan itself, not all of core filtered later."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    run(db, landing, first_run(landing), work)
    [model] = [m for m in models.discover_models(SQL_DIR) if m.table == table]
    con = connection.connect(db)
    con.execute("set variable touched_periods = [date '2024-08-01']")
    [(_, plan)] = con.execute(f"explain (analyze, format json) {model.sql}").fetchall()
    con.close()
    scans = [
        node
        for node in _nodes(json.loads(plan))
        if node.get("extra_info", {}).get("Table", "").endswith("core.trade_detailed")
    ]
    assert scans and all(node["operator_cardinality"] == 1 for node in scans)  # 1 of 6 rows
    assert all("2024-08-01" in str(node["extra_info"].get("Filters")) for node in scans)


def _nodes(node: dict | list) -> list[dict]:
    found = []
    for child in node if isinstance(node, list) else [node]:
        found.append(child)
        found += _nodes(child.get("children", []))
    return found


def test_the_flow_rebuilds_touched_months_and_matches_a_full_rebuild(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    landing, published = tmp_path / "landing", tmp_path / "customs.duckdb"
    first_run(landing)
    run_job(str(landing), str(published))

    export_file(landing / "export/2024-03", "prk.csv", "202403", MARCH_2024[1:])
    export_file(landing / "export/2025-04", "prk.csv", "202504", [("109", "27090000", 5)])
    (landing / "export/2025-04/empty.csv").write_text("")  # quarantined
    with pytest.raises(RejectedReleasesError):
        run_job(str(landing), str(published))

    builds = last_builds(published)
    assert {builds[name] for name in INCREMENTAL} == {"units"}
    assert_same_as_full_rebuild(published)


def test_the_marts_sql_runs_as_is_without_the_variable(tmp_path: Path) -> None:
    """A model read and run by hand (or by the benchmark's probe) means "all months"."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    run(db, landing, first_run(landing), work)
    con = connection.connect(db)
    variables = {"seeds_dir": str(SEEDS_DIR.resolve())}
    for model in models.discover_models(SQL_DIR):
        if model.name in INCREMENTAL:
            body = models.render(model.sql, variables).strip().rstrip(";")
            [(rows,)] = con.execute(f"select count(*) from ({body})").fetchall()
            [(built,)] = con.execute(f"select count(*) from {model.name}").fetchall()
            assert rows == built > 0, model.name
    con.close()


def test_a_half_being_filled_compares_with_the_same_months_a_year_earlier(
    tmp_path: Path,
) -> None:
    """value_usd_prev_year of a half adds up the months a year before those the partner and
    flow traded in, as marts.trade_half_year does; a month missing a year earlier leaves it
    empty. Compared with the whole earlier half, July alone read as a fall of two thirds."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    export_file(landing / "export/2024-07", "prk.csv", "202407", [("109", "27090000", 10)])
    export_file(landing / "export/2024-08", "prk.csv", "202408", [("109", "27090000", 20)])
    july = [("109", "27090000", 13), ("109", "84099999", 5)]
    export_file(landing / "export/2025-07", "prk.csv", "202507", july)
    run(db, landing, ["export/2024-07/prk.csv", "export/2024-08/prk.csv"], work)
    run(db, landing, ["export/2025-07/prk.csv"], work)  # an incremental run: H2 2025 begins
    assert half_year_rows(db, 2025) == {
        ("27", 13, 10, 30.0),
        ("27090000", 13, 10, 30.0),
        ("84", 5, None, None),  # the partner traded in July 2024, this chapter did not
        ("84099999", 5, None, None),
    }
    assert partner_half_year(db, 2025) == (18, 10)  # marts.trade_half_year agrees
    assert_same_as_full_rebuild(db)

    # September 2025 has no September 2024 to compare with: the half is not comparable.
    export_file(landing / "export/2025-09", "prk.csv", "202509", [("109", "27090000", 7)])
    run(db, landing, ["export/2025-09/prk.csv"], work)
    assert ("27090000", 20, None, None) in half_year_rows(db, 2025)
    assert partner_half_year(db, 2025) == (25, None)
    assert_same_as_full_rebuild(db)


def half_year_rows(db: Path, year: int) -> set[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select hs_code, value_usd, value_usd_prev_year, yoy_pct "
            "from marts.trade_by_commodity_half_year "
            "where year = ? and half = 'H2' and partner_iso3 = 'PRK' and flow = 'export' "
            "and hs_level in (2, 8)",
            [year],
        ).fetchall()
        return set(rows)
    finally:
        con.close()


def partner_half_year(db: Path, year: int) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "select value_usd, value_usd_prev_year from marts.trade_half_year "
            "where year = ? and half = 'H2' and partner_iso3 = 'PRK' and flow = 'export'",
            [year],
        ).fetchone()
        assert row is not None
        return row
    finally:
        con.close()


def run_over_an_earlier_table(tmp_path: Path, view: str) -> Path:
    """A warehouse whose `view` an earlier version stored as a table (of other columns), and
    a run adding April 2025 over it: the published file."""
    landing, db, work = tmp_path / "landing", tmp_path / "customs.duckdb", tmp_path / "work"
    run(db, landing, first_run(landing), work)
    con = duckdb.connect(str(db))
    con.execute(f"drop view {view}")
    con.execute(f"create table {view} as select 1 as stale")
    con.close()

    export_file(landing / "export/2025-04", "prk.csv", "202504", [("109", "27090000", 5)])
    run(db, landing, ["export/2025-04/prk.csv"], work)
    return db


def mart_kinds(db: Path) -> list[tuple[str, str]]:
    """The by-commodity marts and whether each is a table or a view."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = 'marts' and table_name like 'trade_by_%' order by 1"
        ).fetchall()
    finally:
        con.close()


def test_a_mart_an_earlier_version_stored_as_a_table_becomes_its_view(tmp_path: Path) -> None:
    """The commodity marts were tables until they became views over core: a warehouse built
    before is converted by its next run, whatever it held."""
    db = run_over_an_earlier_table(tmp_path, "marts.trade_by_commodity_monthly")
    kinds = mart_kinds(db)
    assert ("trade_by_commodity_half_year", "VIEW") in kinds
    assert ("trade_by_commodity_monthly", "VIEW") in kinds
    assert_same_as_full_rebuild(db)


def test_the_hs2017_series_an_earlier_version_stored_as_a_table_becomes_its_view(
    tmp_path: Path,
) -> None:
    """marts.trade_by_hs6_on_hs2017_monthly was a table rebuilt a month at a time until it became
    a view over core.commodity_monthly: a warehouse published before is converted by its next
    run (a month it touched and the rest alike; the rows are a full rebuild's)."""
    db = run_over_an_earlier_table(tmp_path, "marts.trade_by_hs6_on_hs2017_monthly")
    assert mart_kinds(db) == [
        ("trade_by_commodity_half_year", "VIEW"),
        ("trade_by_commodity_monthly", "VIEW"),
        ("trade_by_end_use_half_year", "BASE TABLE"),
        ("trade_by_hs6_on_hs2017_monthly", "VIEW"),
    ]
    assert_same_as_full_rebuild(db)


@pytest.mark.parametrize("seed", [17])  # one order: ~90 s each, for make test under 15 min
def test_the_samples_releases_in_shuffled_run_orders_end_in_the_marts_of_a_full_rebuild(
    tmp_path: Path, seed: int
) -> None:
    """The sample's releases (13 years of detailed exports, preliminary tables with
    January-February cumulatives and later vintages) loaded year by year in a shuffled order of
    years, each year in two runs of a shuffled half of its files: a year after the year it
    compares with and before it, months of a year out of order, older vintages after newer
    ones, a preliminary table after the detail that supersedes it. Whatever the order, every
    mart is the mart of a full build, and the marts by year were last rebuilt by unit."""
    db, work = tmp_path / "customs.duckdb", tmp_path / "work"
    by_year: dict[str, list[str]] = {}
    for path in sorted(SAMPLE_LANDING.rglob("*")):
        if path.is_file():
            # <flow>/<YYYY-MM>/<file>: the year of the folder
            by_year.setdefault(path.parent.name[:4], []).append(
                str(path.relative_to(SAMPLE_LANDING))
            )
    shuffle = random.Random(seed).shuffle
    years = sorted(by_year)
    shuffle(years)
    for year in years:
        names = by_year[year]
        shuffle(names)
        run(db, SAMPLE_LANDING, names[::2], work)
        run(db, SAMPLE_LANDING, names[1::2], work)
    builds = last_builds(db)
    assert {builds[name] for name in BY_YEAR} == {"units"}
    assert_same_as_full_rebuild(db)


def test_the_half_year_commodity_table_of_an_earlier_version_becomes_the_view(
    tmp_path: Path,
) -> None:
    """core.commodity_half_year was a table, rebuilt a half at a time, until it became a view
    over core.commodity_monthly: the next run of a warehouse built before replaces the table
    (a run touching one month no longer rewrites its half), and the mart reads the same."""
    db = run_over_an_earlier_table(tmp_path, "core.commodity_half_year")

    con = duckdb.connect(str(db), read_only=True)
    [(kind,)] = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'core' and table_name = 'commodity_half_year'"
    ).fetchall()
    rows = con.execute(
        "select hs_code, value_usd, value_usd_prev_year, months_with_trade "
        "from marts.trade_by_commodity_half_year "
        "where year = 2025 and half = 'H1' and flow = 'export' and hs_level = 8"
    ).fetchall()
    con.close()
    assert kind == "VIEW"
    # March and April 2025; the partner did not trade in April 2024: no comparison
    assert rows == [("27090000", 205, None, 2)]
    assert_same_as_full_rebuild(db)
