"""marts.trade_revisions on a real-format export delivered twice, with real DuckDB files: the
exact change, the two releases and their publication dates, and the words the report and the
run summary print."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
from support import FIXTURES, SEEDS_DIR, SQL_DIR

from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.report import text as report
from customs_etl.report.revisions import revision_lines, revisions_by_sources
from customs_etl.transform import parse

ZH_EXPORT = FIXTURES / "exports" / "zh_export_202506_prk.csv"
FIRST = "export/2025-06/prk_hs8_zh.published-2025-07-20.csv"
REVISED = "export/2025-06/prk_hs8_zh.published-2025-08-20.csv"


def _landing(tmp_path: Path) -> Path:
    """The GACC Chinese export as published, then a revision raising the processed hair line
    (67030000) from 2,345,678 to 2,401,000 dollars and dropping nothing else."""
    landing = tmp_path / "landing"
    first = landing / FIRST
    first.parent.mkdir(parents=True)
    first.write_bytes(ZH_EXPORT.read_bytes())
    text = ZH_EXPORT.read_bytes().decode("gb18030")
    assert '"2,345,678"' in text
    (landing / REVISED).write_bytes(text.replace('"2,345,678"', '"2,401,000"').encode("gb18030"))
    return landing


def _load(db: Path, landing: Path, names: list[str], work: Path) -> None:
    zone = LandingZone(work / "zone")
    con = connection.connect(db)
    models.prepare_schema(con, SQL_DIR)
    for name in names:
        release = zone.receive(describe_release(landing / name, landing_dir=landing))
        parsed = parse.parse_release(release, work / "staging", SEEDS_DIR)
        loader.load_release(con, parsed.path, registry.loaded_record(parsed))
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_revised_export_shows_the_exact_change_in_either_order(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    for order, names in (("in", [FIRST, REVISED]), ("out", [REVISED, FIRST])):
        db = tmp_path / f"{order}.duckdb"
        _load(db, landing, names, tmp_path / order)
        con = duckdb.connect(str(db), read_only=True)
        rows = con.execute(
            "select period, partner_iso3, flow, source_kind, source_name, value_usd_before, "
            "value_usd_after, change_usd, change_pct, release_id_before, release_id_after, "
            "published_on_before, published_on_after from marts.trade_revisions"
        ).fetchall()
        monthly = con.execute(
            "select value_usd from marts.trade_monthly where partner_iso3 = 'PRK' "
            "and flow = 'export'"
        ).fetchall()
        con.close()
        # 2,345,678 + 312,000 + 264,500 in the file; the revision adds 55,322 to the first line.
        assert rows == [
            (
                dt.date(2025, 6, 1),
                "PRK",
                "export",
                "detailed",
                "export/2025-06/prk_hs8_zh.csv",
                2_922_178,
                2_977_500,
                55_322,
                1.89,
                _sha(landing / FIRST),
                _sha(landing / REVISED),
                dt.date(2025, 7, 20),
                dt.date(2025, 8, 20),
            )
        ]
        assert monthly == [(2_977_500,)]


def test_the_run_summary_and_the_report_name_the_revision(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    db = tmp_path / "w.duckdb"
    _load(db, landing, [FIRST, REVISED], tmp_path / "work")
    con = duckdb.connect(str(db), read_only=True)
    try:
        by_this_run = revision_lines(revisions_by_sources(con, [REVISED]))
        by_the_first = revision_lines(revisions_by_sources(con, [FIRST]))
        paragraph = report.article(con, "PRK", report.HalfYear(2025, "H1"))
        other_half = report.article(con, "PRK", report.HalfYear(2025, "H2"))
    finally:
        con.close()
    line = (
        "2025-06 PRK export (detailed export export/2025-06/prk_hs8_zh.csv): "
        "2,922,178 -> 2,977,500 USD (+55,322, +1.89%); known 2025-07-20, revised 2025-08-20"
    )
    assert by_this_run == [line]
    assert by_the_first == []  # the first vintage revised nothing
    assert f"Revised figures of PRK in H1 2025 (marts.trade_revisions):\n  {line}" in paragraph
    assert "Revised figures" not in other_half


def test_as_of_before_the_revision_shows_none(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    db = tmp_path / "w.duckdb"
    _load(db, landing, [FIRST, REVISED], tmp_path / "work")
    con = duckdb.connect(str(db))
    con.execute("set variable as_of = date '2025-08-01'")
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    assert con.execute("select count(*) from marts.trade_revisions").fetchone() == (0,)
    con.close()
