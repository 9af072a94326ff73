"""Paths and small builders shared by the tests: real files, real DuckDB, no mocks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from customs_etl import job
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.settings import get_settings
from customs_etl.transform import parse

PROJECT_DIR = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_DIR / "tests" / "fixtures"
SAMPLE_LANDING = PROJECT_DIR / "data" / "sample" / "landing"
SQL_DIR = PROJECT_DIR / "sql"
SEEDS_DIR = Path(os.environ.get("CUSTOMS_SEEDS_DIR", PROJECT_DIR / "seeds"))
# scripts/ is not a package: its GACC CSV writer is imported from the folder.
sys.path.insert(0, str(PROJECT_DIR / "scripts"))
import gacc_csv  # noqa: E402


def export_file(folder: Path, name: str, period: str, lines: list[tuple[str, str, int]]) -> Path:
    """An English query export without regime columns, written by the one GACC CSV writer
    (scripts/gacc_csv.py): (partner code, commodity code, value) per line."""
    rows = [
        (period, partner, "x", code, "x", "1", "Kilogram", "0", "-", f"{value:,}")
        for partner, code, value in lines
    ]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gacc_csv.english_csv(gacc_csv.without_regime(gacc_csv.EN_HEADER), rows))
    return path


def table_rows(db: Path, where: str, params: list[object] | None = None) -> dict[str, list[tuple]]:
    """The rows of the tables and views that `where` picks (a condition on
    information_schema.tables), each sorted, by `schema.table`: a warehouse's state to compare."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where {where} order by 1",
            params or [],
        ).fetchall()
        return {
            name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr)
            for (name,) in names
        }
    finally:
        con.close()


def load(build: Path, landing: Path, paths: list[Path], staging: Path) -> None:
    """Stage, load and build marts with the plain functions the flow's tasks call."""
    con = connection.connect(build)
    models.prepare_schema(con, SQL_DIR)
    releases = [describe_release(path, landing_dir=landing) for path in paths]
    staged = [parse.parse_release(release, staging, SEEDS_DIR) for release in releases]
    loader.load_releases(con, [(s.path, registry.loaded_record(s)) for s in staged])
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()


def run_job(
    landing: str | Path | None,
    published: str | Path | None,
    files: list[str] | None = None,
    trade_flow: str | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> job.RunSummary:
    """The job as `customs-etl run` calls it (the plain function, no Prefect), with the
    arguments of the build-warehouse flow."""
    settings = get_settings(landing_dir=landing, warehouse_path=published)
    return job.run_job(
        settings,
        files=[Path(f) for f in files] if files is not None else None,
        trade_flow=trade_flow,  # type: ignore[arg-type]
        period_from=period_from,
        period_to=period_to,
    )
