"""The storage module and SQL models on real DuckDB files, without Prefect."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from support import PROJECT_DIR, SEEDS_DIR, SQL_DIR, export_file, load, table_rows

from customs_etl import errors
from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.publish import build as publication
from customs_etl.publish import docs, parquet_export, versions
from customs_etl.transform import parse


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def rows_of(build: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    """A query's rows, read from the build over a read-only connection."""
    con = duckdb.connect(str(build), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def monthly(build: Path, partner: str = "PRK") -> dict[tuple[str, str], tuple]:
    rows = rows_of(
        build,
        "select strftime(period, '%Y-%m'), flow, value_usd, value_usd_prev_year, yoy_pct, "
        "ytd_value_usd, ytd_months_covered from marts.trade_monthly where partner_iso3 = ?",
        [partner],
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def test_marts_add_split_files_compare_years_and_accumulate(tmp_path: Path, landing: Path) -> None:
    files = [
        export_file(landing / "export/2024-01", "a.csv", "202401", [("109", "67030000", 100)]),
        export_file(landing / "export/2025-01", "a.csv", "202501", [("109", "67030000", 120)]),
        # Two files of one month (split by regime in real downloads) add up.
        export_file(landing / "export/2025-02", "a.csv", "202502", [("109", "67030000", 50)]),
        export_file(landing / "export/2025-02", "b.csv", "202502", [("109", "39269090", 25)]),
        export_file(landing / "import/2025-02", "a.csv", "202502", [("109", "67041100", 40)]),
    ]
    build = tmp_path / "w.duckdb"
    load(build, landing, files, tmp_path / "staging")
    figures = monthly(build)
    assert figures[("2025-01", "export")] == (120, 100, 20.0, 120, 1)
    assert figures[("2025-02", "export")] == (75, None, None, 195, 2)
    assert figures[("2025-02", "import")] == (40, None, None, 40, 1)
    # January had exports only, so the total to date is 120 + 115.
    assert figures[("2025-02", "total")] == (115, None, None, 235, 2)


def test_half_year_compares_only_like_coverage(tmp_path: Path, landing: Path) -> None:
    files = [
        export_file(landing / f"export/{y}-{m:02d}", "a.csv", f"{y}{m:02d}", [("109", "6703", v)])
        for y, m, v in [(2024, 1, 10), (2024, 2, 10), (2025, 1, 13), (2025, 2, 13), (2025, 3, 5)]
    ]
    build = tmp_path / "w.duckdb"
    load(build, landing, files, tmp_path / "staging")
    rows = rows_of(
        build,
        "select year, half, value_usd, value_usd_prev_year, yoy_pct, months_covered "
        "from marts.trade_half_year where partner_iso3 = 'PRK' and flow = 'export' order by year",
    )
    # 2025 H1 has March, 2024 H1 lacks it: no like-for-like comparison.
    assert rows == [(2024, "H1", 20, None, None, 2), (2025, "H1", 31, None, None, 3)]


def test_commodity_levels_roll_up_and_carry_descriptions(tmp_path: Path, landing: Path) -> None:
    files = [
        export_file(
            landing / "import/2025-03",
            "a.csv",
            "202503",
            [("109", "67041100", 70), ("109", "67041900", 30), ("109", "26139000", 11)],
        )
    ]
    build = tmp_path / "w.duckdb"
    load(build, landing, files, tmp_path / "staging")
    rows = rows_of(
        build,
        "select hs_level, hs_code, value_usd, hs_description from marts.trade_by_commodity_monthly "
        "where hs_code like '67%' order by hs_level, hs_code",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (2, "67", 100),
        (4, "6704", 100),
        (6, "670411", 70),
        (6, "670419", 30),
        (8, "67041100", 70),
        (8, "67041900", 30),
    ]
    assert "wig" in rows[1][3].lower()


@pytest.mark.parametrize("files", [3, 70])
def test_release_count_is_the_files_behind_each_figure(
    tmp_path: Path, landing: Path, files: int
) -> None:
    """Counted as one bit per release of a partner's month; past 63 releases the distinct way."""
    codes = [f"6704{n:04d}" for n in range(files)]
    paths = [
        export_file(landing / "import/2025-03", f"{n:03d}.csv", "202503", [("109", code, 10)])
        for n, code in enumerate(codes)
    ]
    # Another partner's file of the same month: counted apart.
    paths.append(
        export_file(landing / "import/2025-03", "jpn.csv", "202503", [("116", codes[0], 1)])
    )
    build = tmp_path / "w.duckdb"
    load(build, landing, paths, tmp_path / "staging")
    rows = rows_of(
        build,
        "select partner_iso3, hs_level, count(*), min(release_count), max(release_count), "
        "sum(value_usd) from marts.trade_by_commodity_monthly group by all order by 1 desc, 2",
    )
    assert rows == [
        ("PRK", 2, 1, files, files, 10 * files),
        ("PRK", 4, 1, files, files, 10 * files),
        ("PRK", 6, 1, files, files, 10 * files),
        ("PRK", 8, files, 1, 1, 10 * files),
        ("JPN", 2, 1, 1, 1, 1),
        ("JPN", 4, 1, 1, 1, 1),
        ("JPN", 6, 1, 1, 1, 1),
        ("JPN", 8, 1, 1, 1, 1),
    ]


def test_a_revision_under_the_same_name_replaces_the_earlier_vintage(
    tmp_path: Path, landing: Path
) -> None:
    path = export_file(landing / "export/2025-04", "a.csv", "202504", [("109", "1006", 500)])
    build = tmp_path / "w.duckdb"
    load(build, landing, [path], tmp_path / "staging")
    first = describe_release(path, landing_dir=landing).release_id
    export_file(landing / "export/2025-04", "a.csv", "202504", [("109", "1006", 650)])
    load(build, landing, [path], tmp_path / "staging")
    assert monthly(build)[("2025-04", "export")][0] == 650
    con = duckdb.connect(str(build), read_only=True)
    earlier = con.execute(
        "select sum(value) from core.trade_detailed where release_id = ?", [first]
    ).fetchone()
    sources = con.execute("select count(*) from marts.trade_monthly_sources").fetchone()
    con.close()
    assert earlier == (500,)  # the earlier vintage stays queryable with its release
    assert sources == (1,)


def test_reloading_a_release_never_doubles(tmp_path: Path, landing: Path) -> None:
    path = export_file(landing / "export/2025-05", "a.csv", "202505", [("109", "1006", 77)])
    build = tmp_path / "w.duckdb"
    load(build, landing, [path, path], tmp_path / "staging")
    assert monthly(build)[("2025-05", "export")][0] == 77
    # Loaded again later (its registry row says loaded): its rows are replaced, not added.
    load(build, landing, [path], tmp_path / "staging")
    assert monthly(build)[("2025-05", "export")][0] == 77
    con = duckdb.connect(str(build), read_only=True)
    assert con.execute("select count(*) from core.trade_detailed").fetchone() == (1,)
    con.close()


def stage_all(
    landing: Path, staging: Path, paths: list[Path]
) -> list[tuple[Path, registry.ReleaseRecord]]:
    staged = [
        parse.parse_release(describe_release(p, landing_dir=landing), staging, SEEDS_DIR)
        for p in paths
    ]
    return [(s.path, registry.loaded_record(s)) for s in staged]


def test_a_month_loads_together_and_only_the_repeating_download_is_refused(
    tmp_path: Path, landing: Path
) -> None:
    folder = landing / "export/2025-05"
    first = export_file(folder, "part-1.csv", "202505", [("109", "1006", 5), ("116", "1006", 7)])
    second = export_file(folder, "part-2.csv", "202505", [("109", "3102", 11)])
    repeats = export_file(folder, "part-3.csv", "202505", [("116", "1006", 7)])
    june = export_file(landing / "export/2025-06", "part-1.csv", "202506", [("109", "1006", 3)])
    con = connection.connect(tmp_path / "w.duckdb")
    models.prepare_schema(con, SQL_DIR)
    together = loader.load_releases(con, stage_all(landing, tmp_path / "s", [first, second, june]))
    assert sorted(together.values()) == [1, 1, 2]
    # The next month-flow group holds a download repeating a row of part-1: loaded one at a
    # time, part-3 is refused (nothing of it stays) and the others of its month still load.
    later = export_file(folder, "part-4.csv", "202505", [("133", "1006", 13)])
    outcomes = loader.load_releases(con, stage_all(landing, tmp_path / "s", [repeats, later]))
    refused = [o for o in outcomes.values() if isinstance(o, ReleaseError)]
    assert len(refused) == 1 and refused[0].file == "export/2025-05/part-3.csv"
    assert "repeat rows already delivered by export/2025-05/part-1.csv" in refused[0].problem
    assert sorted(o for o in outcomes.values() if isinstance(o, int)) == [1]
    rows = con.execute(
        "select strftime(period, '%Y-%m'), sum(value), count(distinct release_id) "
        "from core.trade_detailed group by 1 order by 1"
    ).fetchall()
    registry = con.execute(
        "select source_name, row_count from meta.releases where status = 'loaded' order by 1"
    ).fetchall()
    con.close()
    assert rows == [("2025-05", 5 + 7 + 11 + 13, 3), ("2025-06", 3, 1)]
    assert registry == [
        ("export/2025-05/part-1.csv", 2),
        ("export/2025-05/part-2.csv", 1),
        ("export/2025-05/part-4.csv", 1),
        ("export/2025-06/part-1.csv", 1),
    ]


def test_publish_is_an_atomic_replacement_that_readers_survive(
    tmp_path: Path, landing: Path
) -> None:
    published = tmp_path / "warehouse" / "customs.duckdb"
    path = export_file(landing / "export/2025-06", "a.csv", "202506", [("109", "1006", 1)])
    for value in (1, 2):
        export_file(landing / "export/2025-06", "a.csv", "202506", [("109", "1006", value)])
        build = publication.start_build(published)
        load(build, landing, [path], tmp_path / "staging")
        if value == 1:
            publication.publish(build, published)
            reader = duckdb.connect(str(published), read_only=True)
        else:
            publication.publish(build, published)
    # The reader opened before the second publication still sees its snapshot.
    snapshot = "select value_usd from marts.trade_monthly where flow = 'export'"
    assert reader.execute(snapshot).fetchall() == [(1,)]
    reader.close()
    assert monthly(published)[("2025-06", "export")][0] == 2
    assert not publication.build_path_for(published).exists()


def test_an_empty_build_is_never_published(tmp_path: Path) -> None:
    published = tmp_path / "customs.duckdb"
    build = publication.start_build(published)
    con = connection.connect(build)
    models.prepare_schema(con, SQL_DIR)
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()
    with pytest.raises(RuntimeError, match="refusing to publish"):
        publication.publish(build, published)
    assert not published.exists()


def test_second_run_lock_is_refused_and_released(tmp_path: Path) -> None:
    published = tmp_path / "customs.duckdb"
    refused = pytest.raises(errors.RunInProgressError, match="another run is in progress")
    with connection.run_lock(published), refused, connection.run_lock(published):
        pass
    with connection.run_lock(published):
        pass


def test_read_only_connections_cannot_write_or_reach_files(tmp_path: Path, landing: Path) -> None:
    """Each statement is refused for the reason the README promises (read-only, no file
    system, locked settings, no extensions); a typo in a statement would fail with a parser
    error and so fail this test rather than pass it."""
    path = export_file(landing / "export/2025-07", "a.csv", "202507", [("109", "1006", 3)])
    build = tmp_path / "w.duckdb"
    load(build, landing, [path], tmp_path / "staging")
    con = connection.connect(build, read_only=True)
    refusals = {
        "drop table marts.trade_monthly": "attached in read-only mode",
        "insert into marts.trade_monthly select * from marts.trade_monthly": "read-only mode",
        f"copy marts.trade_monthly to '{tmp_path / 'out.csv'}'": "file system operations are "
        "disabled",
        f"attach '{tmp_path / 'other.duckdb'}' as other": "file system operations are disabled",
        "select * from read_csv('/etc/passwd')": "file system operations are disabled",
        "set enable_external_access = true": "the configuration has been locked",
        "install httpfs": "file system operations are disabled",
        "load httpfs": "Loading external extensions is disabled",
    }
    for statement, reason in refusals.items():
        with pytest.raises(duckdb.Error, match=reason):
            con.execute(statement)
    assert con.execute("select count(*) from marts.trade_monthly").fetchone() == (2,)
    con.close()
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_built_marts_match_their_documentation(tmp_path: Path, landing: Path) -> None:
    path = export_file(landing / "import/2025-08", "a.csv", "202508", [("109", "67041100", 9)])
    build = tmp_path / "w.duckdb"
    load(build, landing, [path], tmp_path / "staging")
    con = duckdb.connect(str(build), read_only=True)
    found = {m.name: m for m in models.discover_models(SQL_DIR)}
    kinds = {name: m.materialization for name, m in found.items()}
    for spec in docs.mart_specs(SQL_DIR):
        schema, table = spec["name"].split(".")
        actual = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        documented = [(c["name"], c["type"]) for c in spec["columns"]]
        assert actual == documented, spec["name"]
        kind = con.execute(
            "select table_type from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchone()
        assert kind == ({"table": "BASE TABLE", "view": "VIEW"}[kinds[spec["name"]]],)
        # The runner stores each mart as its .yml declares (the one place that says it).
        assert found[spec["name"]].declared == spec["materialized"], spec["name"]
    con.close()
    readme = PROJECT_DIR / "warehouse" / "README.md"
    assert docs.readme_reference(readme) == docs.render_reference(SQL_DIR).strip(), (
        "warehouse/README.md is out of date: run `customs-etl docs`"
    )


def test_a_model_declaring_its_storage_twice_is_refused(tmp_path: Path) -> None:
    """Storage is declared once, in the .yml where a model has one: a `-- materialized:` line
    in its SQL as well would be a second copy of the rule, so the runner refuses the tree."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    mart = sql_dir / "marts" / "trade_yearly.sql"
    mart.write_text("-- materialized: view\n" + mart.read_text())
    with pytest.raises(ValueError, match=r"marts.trade_yearly: its storage is declared in both"):
        models.discover_models(sql_dir)


def test_registry_records_checksum_period_and_totals(tmp_path: Path, landing: Path) -> None:
    path = export_file(
        landing / "export/2025-09", "a.csv", "202509", [("109", "1006", 3), ("109", "3102", 4)]
    )
    build = tmp_path / "w.duckdb"
    load(build, landing, [path], tmp_path / "staging")
    con = duckdb.connect(str(build), read_only=True)
    row = con.execute(
        "select source_name, flow, period, hs_level, row_count, value_total, status, dialect "
        "from meta.releases"
    ).fetchone()
    con.close()
    assert row == (
        "export/2025-09/a.csv",
        "export",
        dt.date(2025, 9, 1),
        4,
        2,
        7,
        "loaded",
        "gacc_query_en",
    )
    # The registry's total is what core holds for the release, not a figure of its own.
    con = duckdb.connect(str(build), read_only=True)
    loaded = con.execute(
        "select sum(trade.value) from core.trade_detailed as trade "
        "inner join meta.releases using (release_id) where source_name = 'export/2025-09/a.csv'"
    ).fetchone()
    con.close()
    assert loaded == (7,)


def test_versions_are_kept_as_release_sets_and_rollback_rebuilds_one(
    tmp_path: Path, landing: Path
) -> None:
    """Three publications of three vintages of a month's file, keeping one earlier version:
    beside the published file only the spare (the version before it); the kept version is a
    release set, and rollback rebuilds it: every mart as that publication had it."""
    published = tmp_path / "warehouse" / "customs.duckdb"
    path = landing / "export/2025-10/a.csv"
    marts_of = []
    for value in (10, 20, 30):
        export_file(landing / "export/2025-10", "a.csv", "202510", [("109", "1006", value)])
        build = publication.start_build(published)
        load(build, landing, [path], tmp_path / "staging")
        publication.publish(build, published, keep_versions=1)
        marts_of.append(table_rows(published, "table_schema = 'marts'"))
    [kept] = versions.names(published)  # only the newest earlier one is kept
    spare = publication.spare_path(published)
    current = publication.current_version(published)
    assert current is not None and kept < current.name
    assert sorted(publication.versions_dir(published).iterdir()) == sorted([spare, current])
    assert monthly(spare)[("2025-10", "export")][0] == 20  # the version before: lagging 1 run

    rebuilt = versions.rollback(published, kept, SQL_DIR, SEEDS_DIR, keep=1, max_lag=1.0)
    assert rebuilt not in (kept, current.name)
    assert publication.current_version(published).name == rebuilt  # type: ignore[union-attr]
    assert monthly(published)[("2025-10", "export")][0] == 20
    assert table_rows(published, "table_schema = 'marts'") == marts_of[1]
    # The version rolled back from holds a release no longer loaded: not offered (the next
    # run loads it again from the landing zone); the one before it was not kept.
    assert versions.names(published) == []
    assert monthly(publication.spare_path(published))[("2025-10", "export")][0] == 30


def test_export_writes_every_mart_as_parquet(tmp_path: Path, landing: Path) -> None:
    path = export_file(landing / "export/2025-11", "a.csv", "202511", [("109", "1006", 5)])
    build = tmp_path / "w.duckdb"
    load(build, landing, [path], tmp_path / "staging")
    written = parquet_export.export_marts(build, tmp_path / "parquet")
    names = sorted(p.stem for p in written)
    assert names == sorted(spec["name"].split(".")[1] for spec in docs.mart_specs(SQL_DIR))
    con = duckdb.connect()
    total = con.execute(
        "select value_usd from read_parquet(?) where flow = 'total'",
        [str(tmp_path / "parquet" / "trade_monthly.parquet")],
    ).fetchall()
    assert total == [(5,)]
