"""The command line on a real warehouse built with the plain functions (no Prefect needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from support import export_file, load, run_job
from typer.testing import CliRunner

from customs_etl.cli import app
from customs_etl.publish import build as publication

runner = CliRunner()


@pytest.fixture
def published(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    files = [
        export_file(landing / "export/2024-02", "a.csv", "202402", [("109", "67030000", 800)]),
        export_file(landing / "export/2025-02", "a.csv", "202502", [("109", "67030000", 1_000)]),
        export_file(landing / "import/2024-02", "a.csv", "202402", [("109", "67041100", 200)]),
        export_file(
            landing / "import/2025-02",
            "a.csv",
            "202502",
            [("109", "67041100", 300), ("109", "67030000", 20)],
        ),
    ]
    path = tmp_path / "customs.duckdb"
    build = publication.start_build(path)
    load(build, landing, files, tmp_path / "staging")
    publication.publish(build, path)
    return path


def test_sql_prints_json_and_csv(published: Path) -> None:
    query = (
        "select flow, value_usd, yoy_pct from marts.trade_half_year "
        "where year = 2025 and partner_iso3 = 'PRK' order by flow"
    )
    result = runner.invoke(app, ["sql", query, "--warehouse", str(published), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"flow": "export", "value_usd": 1000, "yoy_pct": 25.0},
        {"flow": "import", "value_usd": 320, "yoy_pct": 60.0},
        {"flow": "total", "value_usd": 1320, "yoy_pct": 32.0},
    ]
    result = runner.invoke(app, ["sql", query, "--warehouse", str(published), "--format", "csv"])
    assert result.output.splitlines()[:2] == ["flow,value_usd,yoy_pct", "export,1000,25.0"]


def test_sql_refuses_to_write(published: Path) -> None:
    result = runner.invoke(
        app, ["sql", "drop table marts.trade_monthly", "--warehouse", str(published)]
    )
    assert result.exit_code == 1
    assert "read-only" in result.output  # said plainly, not a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit)
    check = runner.invoke(
        app,
        [
            "sql",
            "select count(*) as n from marts.trade_monthly",
            "--warehouse",
            str(published),
            "--format",
            "csv",
        ],
    )
    assert check.output.splitlines()[1] != "0"


def test_report_tells_the_half_year_story(published: Path, tmp_path: Path) -> None:
    arguments = ["report", "--partner", "prk", "--period", "2025H1"]
    arguments += ["--warehouse", str(published), "--out", str(tmp_path / "reports")]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "H1 2025 (1 of 6 months)" in text
    assert "$1,320, +32.0% on a year earlier" in text
    assert "China's imports from" in text and "6704" in text


def test_report_rejects_a_malformed_period(published: Path, tmp_path: Path) -> None:
    """Catches a bad period passing as a traceback (the old test only asked for a non-zero
    exit, which a ValueError gives too) or writing a report before it is refused."""
    out = tmp_path / "reports"
    arguments = ["report", "--period", "2025-H3", "--warehouse", str(published)]
    result = runner.invoke(app, [*arguments, "--out", str(out)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # not a ValueError's traceback
    assert result.stderr.strip() == ("period '2025-H3': expected a half-year like 2025H1 or 2024H2")
    assert not out.exists()


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    """Catches "no warehouse yet" sharing exit code 2 with click's usage errors."""
    result = runner.invoke(app, ["sql", "select 1", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"no warehouse at {tmp_path / 'none.duckdb'}: run `customs-etl run` first"
    )


def test_shell_answers_queries_and_refuses_writes(published: Path) -> None:
    statements = (
        "select sum(value_usd) as value_usd from marts.trade_monthly\nwhere flow = 'total';\n"
    )
    statements += "drop table marts.trade_monthly;\n"
    result = runner.invoke(app, ["shell", "--warehouse", str(published)], input=statements)
    assert result.exit_code == 0, result.output
    assert "2,320" in result.output  # 1,000 + 800 exports, 320 + 200 imports
    assert "read-only mode" in result.output


def test_export_writes_parquet_files(published: Path, tmp_path: Path) -> None:
    """Catches an export that writes the wrong rows, misses a mart or leaves a temporary file
    (the old test only asked for a non-empty file): every mart's file holds exactly the rows
    of the mart."""
    arguments = ["export", str(tmp_path / "out"), "--format", "parquet"]
    result = runner.invoke(app, [*arguments, "--warehouse", str(published)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(published), read_only=True)
    marts = [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{t}.parquet" for t in marts
    )
    for table in marts:
        written = con.execute(
            f"select count(*) from (select * from read_parquet(?) "
            f"except all select * from marts.{table})",
            [str(tmp_path / "out" / f"{table}.parquet")],
        ).fetchone()
        rows = con.execute(
            "select count(*) from read_parquet(?)", [str(tmp_path / "out" / f"{table}.parquet")]
        ).fetchone()
        expected = con.execute(f"select count(*) from marts.{table}").fetchone()
        assert written == (0,) and rows == expected, table
    half_year = con.execute(
        "select flow, value_usd from read_parquet(?) where year = 2025 and partner_iso3 = 'PRK' "
        "order by flow",
        [str(tmp_path / "out" / "trade_half_year.parquet")],
    ).fetchall()
    con.close()
    assert half_year == [("export", 1000), ("import", 320), ("total", 1320)]


def test_docs_regenerates_the_marts_reference(tmp_path: Path, monkeypatch) -> None:
    from customs_etl.publish import docs as marts_docs
    from customs_etl.settings import PROJECT_DIR

    readme = tmp_path / "warehouse" / "README.md"
    readme.parent.mkdir()
    text = (PROJECT_DIR / "warehouse" / "README.md").read_text(encoding="utf-8")
    head, rest = text.split(marts_docs.BEGIN, 1)
    readme.write_text(
        f"{head}{marts_docs.BEGIN}\nstale\n{marts_docs.END}{rest.split(marts_docs.END, 1)[1]}"
    )
    monkeypatch.setenv("CUSTOMS_PROJECT_DIR", str(tmp_path))

    result = runner.invoke(app, ["docs"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{readme}: updated"
    assert readme.read_text(encoding="utf-8") == text
    assert runner.invoke(app, ["docs"]).output.strip() == f"{readme}: up to date"


# What a run that finds nothing new must not import: the fixed cost of every run (issue 18).
# Great Expectations, Prefect, pandas and pyarrow took most of it; polars, numpy, httpx and
# matplotlib are the work's (parsing, fetching, the report's charts), not the check's.
HEAVY = (
    "great_expectations",
    "prefect",
    "pandas",
    "pyarrow",
    "polars",
    "numpy",
    "httpx",
    "matplotlib",
)
# The command line as its entry point runs it, saying at exit which of HEAVY it imported.
PROBE = f"""
import atexit, json, sys
atexit.register(lambda: print("imported:", json.dumps(
    sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))), file=sys.stderr))
sys.argv[0] = "customs-etl"
from customs_etl.cli import app
app()
"""


def test_a_run_that_finds_nothing_new_imports_none_of_the_heavy_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`customs-etl run` on a built warehouse with nothing new: a real process, which says
    which libraries it imported (sys.modules at exit). No timing here: bench/run_bench.py
    measures the fixed cost."""
    landing = tmp_path / "landing"
    export_file(landing / "export" / "2025-01", "a.csv", "202501", [("109", "1006", 5)])
    export_file(landing / "import" / "2025-01", "a.csv", "202501", [("109", "6704", 7)])
    published = tmp_path / "warehouse" / "customs.duckdb"
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    assert run_job(landing, published).published
    arguments = ["run", "--landing", str(landing), "--warehouse", str(published)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Warehouse unchanged." in done.stdout
    assert "China's trade with PRK by half-year" in done.stdout  # the summary still printed
    assert done.stderr.splitlines()[-1] == "imported: []"
