"""The published marts of the embedded sample, column by column and row by row, against a digest
recorded from a build of main (0c23d1f) before core.commodity_half_year became a view over
core.commodity_monthly: how core stores its figures is internal, and must not change one value,
type or row a reader of marts.* sees. A mart whose contract changes on purpose is recorded again
with `.venv/bin/python tests/test_published_marts.py`, and the change said under Changes in
warehouse/README.md."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pytest
from support import SAMPLE_LANDING, run_job

RECORDED = Path(__file__).parent / "fixtures" / "sample_marts.json"


def digest(published: Path) -> dict[str, dict[str, object]]:
    """Per mart: its columns with their types, its row count and a digest of its rows in any
    order. Columns saying when a run happened (`*_at`) differ from run to run and are left out."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        marts = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1"
        ).fetchall()
        return {table: _mart(con, table) for (table,) in marts}
    finally:
        con.close()


def _mart(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    kept = [name for name, _ in columns if not name.endswith("_at")]
    rows = con.execute(f"select {', '.join(kept)} from marts.{table}").fetchall()
    lines = sorted(repr(tuple(_plain(value) for value in row)) for row in rows)
    return {
        "columns": [f"{name} {kind}" for name, kind in columns],
        "rows": len(rows),
        "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
    }


def _plain(value: object) -> object:
    if isinstance(value, float):
        # Twelve significant digits: a sum of doubles may differ in its last bits with the order
        # DuckDB's threads added the rows in (and -0.0 from 0.0), not in any figure shown.
        return f"{value + 0.0:.12g}"
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def build_sample(root: Path) -> Path:
    """The sample built as `make run` builds it, in a fresh warehouse under root."""
    published = root / "warehouse" / "customs.duckdb"
    run_job(SAMPLE_LANDING, published)
    return published


def test_the_samples_marts_are_the_recorded_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    built = digest(build_sample(tmp_path))
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert len(recorded) >= 10 and all(mart["rows"] > 0 for mart in recorded.values())
    assert list(built) == list(recorded)
    differing = {table: built[table] for table in recorded if built[table] != recorded[table]}
    assert differing == {}


if __name__ == "__main__":
    # Record the digest of the sample's marts as this checkout builds them.
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        os.environ["CUSTOMS_WORK_DIR"] = str(Path(scratch) / "work")
        recorded = digest(build_sample(Path(scratch)))
    RECORDED.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    sys.exit(0)
