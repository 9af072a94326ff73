"""The lake backend with the plain functions (no Prefect): a DuckLake on a SQLite catalog and
local Parquet. A run is one snapshot, a failed or killed run leaves nothing visible, the upkeep
keeps CUSTOMS_KEEP_VERSIONS published versions, rollback and as-of read snapshots, and every
read command of the CLI works on it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from backends import Where, use_backend
from support import PROJECT_DIR, export_file, load
from typer.testing import CliRunner

from customs_etl import backend
from customs_etl.cli import app
from customs_etl.load import lake
from customs_etl.publish.lake import snapshot_id
from customs_etl.settings import Settings, get_settings

runner = CliRunner()

# (folder, file period, partner, commodity, value): one release per month and flow.
MONTHS = [
    ("export/2024-02", "202402", "109", "67030000", 800),
    ("import/2024-02", "202402", "109", "67041100", 200),
    ("export/2025-02", "202502", "109", "67030000", 1_000),
    ("import/2025-02", "202502", "109", "67041100", 300),
]


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    return use_backend("lake", tmp_path, monkeypatch)


def publish(
    where: Where, *months: tuple[str, str, str, str, int], settings: Settings | None = None
) -> None:
    """One run: the months' releases (one file each) loaded and the marts built in the run's
    transaction, then published."""
    root = where.settings.work_dir
    files = [
        export_file(root / "landing" / folder, f"{code}.csv", period, [(partner, code, value)])
        for folder, period, partner, code, value in months
    ]
    chosen = settings or where.settings
    build = backend.start_build(chosen)
    load(build, root / "landing", files, root / "staging")
    backend.publish(chosen, build)


def totals(where: Where) -> list[tuple]:
    return where.query(
        "select strftime(period, '%Y-%m'), flow, value_usd from marts.trade_monthly "
        "where flow <> 'total' order by all"
    )


def published_snapshots(where: Where) -> int:
    [(count,)] = where.query(
        "select count(*) from ducklake_snapshots('lake') where commit_message like 'customs-etl%'"
    )
    return count


_KILLED_RUN = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from support import export_file, load
from customs_etl import backend
from customs_etl.settings import get_settings
settings = get_settings()
with backend.run_lock(settings):
    build = backend.start_build(settings)
    root = settings.work_dir
    line = [("109", "67041100", 7)]
    file = export_file(root / "landing" / "import/2024-02", "k.csv", "202402", line)
    load(build, root / "landing", [file], root / "staging")
    print("loaded", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_discarded_or_killed_run_leaves_nothing_visible_and_no_lock(where: Where) -> None:
    publish(where, MONTHS[0])
    assert totals(where) == [("2024-02", "export", 800)]
    assert published_snapshots(where) == 1

    build = backend.start_build(where.settings)
    root = where.settings.work_dir
    file = export_file(root / "landing" / "import/2024-02", "b.csv", "202402", [MONTHS[1][2:]])
    load(build, root / "landing", [file], root / "staging")
    backend.discard_build(where.settings, build)
    assert totals(where) == [("2024-02", "export", 800)]

    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN, str(PROJECT_DIR / "tests")],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9 and "loaded" in killed.stdout, killed.stderr
    assert totals(where) == [("2024-02", "export", 800)]
    assert published_snapshots(where) == 1
    with backend.run_lock(where.settings):  # the lock died with the process
        pass


def test_upkeep_versions_rollback_and_every_read_command_on_the_lake(
    where: Where, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs with CUSTOMS_KEEP_VERSIONS=1: the current version and one earlier are kept,
    the runs' small files are merged; the read commands answer from the lake; rollback
    publishes the kept version again."""
    monkeypatch.setenv("CUSTOMS_KEEP_VERSIONS", "1")
    keep_one = get_settings()
    publish(where, MONTHS[0], settings=keep_one)
    publish(where, MONTHS[1], settings=keep_one)
    publish(
        where, *MONTHS[2:], ("import/2025-02", "202502", "109", "67030000", 20), settings=keep_one
    )

    [(oldest,)] = where.query("select min(snapshot_id) from ducklake_snapshots('lake')")
    versions = backend.list_versions(where.settings)
    assert len(versions) == 1 and published_snapshots(where) == 2
    assert snapshot_id(versions[0]) >= oldest
    [(files,)] = where.query(
        "select count(*) from ducklake_list_files('lake', 'trade_detailed', schema => 'core')"
    )
    assert files == 1

    query = (
        "select flow, value_usd, yoy_pct from marts.trade_half_year "
        "where year = 2025 and partner_iso3 = 'PRK' order by flow"
    )
    result = runner.invoke(app, ["sql", query, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"flow": "export", "value_usd": 1000, "yoy_pct": 25.0},
        {"flow": "import", "value_usd": 320, "yoy_pct": 60.0},
        {"flow": "total", "value_usd": 1320, "yoy_pct": 32.0},
    ]
    for refused in (
        "drop table marts.trade_monthly",
        "copy marts.trade_monthly to '/tmp/out.csv'",
        "attach 'x.duckdb' as x",
    ):
        result = runner.invoke(app, ["sql", refused])
        assert result.exit_code == 1 and "Error" in result.output, refused

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "export 2025-02, import 2025-02; 5 release file(s) loaded" in status.output

    export = runner.invoke(app, ["export", str(tmp_path / "parquet")])
    assert export.exit_code == 0, export.output
    assert (tmp_path / "parquet" / "trade_monthly.parquet").is_file()

    # as-of: releases known by then (these were received today), from the day's last snapshot.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    as_of = runner.invoke(app, ["as-of", today, "--out", str(tmp_path / "a.duckdb")])
    assert as_of.exit_code == 0, as_of.output
    assert "latest month 2025-02, from lake snapshot" in as_of.output
    before = runner.invoke(app, ["as-of", "2025-03-01", "--out", str(tmp_path / "b.duckdb")])
    assert "latest month none" in before.output, before.output

    report = runner.invoke(app, ["report", "--out", str(tmp_path / "reports")])
    assert report.exit_code == 0, report.output

    listed = runner.invoke(app, ["rollback", "--list"])
    assert listed.exit_code == 0 and listed.output.startswith("snapshot-"), listed.output
    unknown = runner.invoke(app, ["rollback", "--to", "snapshot-99999"])
    assert unknown.exit_code == 1
    assert "'snapshot-99999' is not a kept version of the lake" in unknown.output
    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 0, result.output
    assert totals(where) == [("2024-02", "export", 800), ("2024-02", "import", 200)]


def test_commands_say_when_there_is_no_lake_yet(where: Where) -> None:
    for command in (["sql", "select 1"], ["status"], ["export", str(where.path.parent / "out")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output)  # nothing published yet
        assert "no warehouse in the lake ducklake:sqlite:" in result.output, command
        assert "Traceback" not in result.output
    assert lake.exists(where.settings) is False
