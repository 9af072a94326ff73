"""The spare version: a run builds in the version file the last publication let go of, brought
up to date, instead of a copy of the published file; what it publishes is the same. Real
DuckDB files and the plain job (no Prefect)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from support import SQL_DIR, export_file, table_rows

from customs_etl import job
from customs_etl.publish import build as publication
from customs_etl.publish import spare
from customs_etl.settings import Settings, get_settings

# (month, lines): PRK lines under UN measures and another partner, a year apart, so that the
# marts compared with a year earlier are touched, then a new vintage of a month already loaded.
RUNS = [
    ("2024-01", [("109", "27090000", 100), ("502", "85171200", 70)]),
    ("2024-03", [("109", "84099999", 50), ("502", "85171200", 30)]),
    ("2025-01", [("109", "27090000", 80), ("109", "61091000", 9)]),
    ("2025-03", [("502", "85171200", 40)]),
    ("2024-03", [("109", "84099999", 55), ("502", "85171200", 30)]),  # revised: a new vintage
]
BUILD_LOG = "customs_etl.publish.build"


def settings_for(root: Path, keep: int, max_lag: float = 1.0) -> Settings:
    """Catching up whatever the spare lags (one run here is a third of the rows or more); with
    `max_lag` 0, never: every run copies."""
    return get_settings(
        spare_max_lag=max_lag,
        landing_dir=root / "landing",
        warehouse_path=root / "warehouse" / "customs.duckdb",
        work_dir=root / "work",
        landing_zone_dir=root / "landing_zone",
        keep_versions=keep,
    )


def add(settings: Settings, step: int) -> job.RunSummary:
    """Land run `step`'s export (a revision replaces the file of its month) and run the job."""
    month, lines = RUNS[step]
    period = month.replace("-", "")
    export_file(settings.landing_dir / "export" / month, "a.csv", period, lines)
    summary = job.run_job(settings, period_from=month, period_to=month)
    assert summary.published, summary.text()
    return summary


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every base table's rows, sorted: the whole state of a warehouse file."""
    return table_rows(path, "table_type = 'BASE TABLE'")


def figures(path: Path) -> dict[str, list[tuple]]:
    """What two warehouses built from the same files share: every table but meta's, without
    the times the releases were received (each warehouse received them itself)."""
    return {
        name: [tuple(None if isinstance(v, dt.datetime) else v for v in row) for row in rows]
        for name, rows in tables(path).items()
        if not name.startswith("meta.")
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The runs made twice: through the spare (from the second publication on) and through
    copies (never catching up), with the spare path's build logs and a copy of each
    publication of the second."""
    root = tmp_path_factory.mktemp("spare")
    caught_up, copied = settings_for(root / "spare", 0), settings_for(root / "copy", 99, 0.0)
    (root / "published").mkdir()
    handler = _Messages()
    logging.getLogger(BUILD_LOG).addHandler(handler)
    logging.getLogger(BUILD_LOG).setLevel(logging.INFO)
    per_run = []
    try:
        for step in range(len(RUNS)):
            handler.messages.clear()
            add(caught_up, step)
            per_run.append(list(handler.messages))
            add(copied, step)
            shutil.copy2(copied.warehouse_path, root / "published" / f"{step}.duckdb")
    finally:
        logging.getLogger(BUILD_LOG).removeHandler(handler)
    yield {"caught_up": caught_up, "copied": copied, "logs": per_run, "root": root}


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_runs_catch_the_spare_up_instead_of_copying_and_publish_the_same(
    built: dict[str, object],
) -> None:
    caught_up, copied = built["caught_up"], built["copied"]
    assert isinstance(caught_up, Settings) and isinstance(copied, Settings)
    # A spare exists from the second publication on: every later run uses it.
    used = [sum("spare version caught up" in m for m in logs) for logs in built["logs"]]  # type: ignore[attr-defined]
    assert used == [0, 0, 1, 1, 1]
    published = caught_up.warehouse_path
    assert figures(published) == figures(copied.warehouse_path)
    # Whatever is kept, the only files are the published version and the spare: the one
    # published before it, lagging one run.
    for settings in (caught_up, copied):
        where = settings.warehouse_path
        current = publication.current_version(where)
        assert current is not None
        files = sorted(path.name for path in publication.versions_dir(where).iterdir())
        assert files == sorted([publication.spare_path(where).name, current.name])


def test_catching_up_either_way_gives_every_table_of_the_target(
    built: dict[str, object], tmp_path: Path
) -> None:
    copied = built["copied"]
    assert isinstance(copied, Settings)
    root = built["root"]
    assert isinstance(root, Path)
    older = root / "published" / "0.duckdb"  # as the first run published it
    newest = publication.current_version(copied.warehouse_path)
    assert newest is not None
    # Forwards (releases added) and backwards (releases removed, as after a rollback).
    for start, target, moved in ((older, newest, (4, 0)), (newest, older, (0, 4))):
        build = tmp_path / f"build-{start.stem}.duckdb"
        shutil.copy2(start, build)
        done = spare.catch_up(build, target, SQL_DIR, max_lag=10.0)  # any lag
        assert done is not None and (done.added, done.removed) == moved and done.months == 3
        assert tables(build) == tables(target)
    # Lagging more of the rows than allowed, the spare is left as it is: the run copies.
    build = tmp_path / "lagging.duckdb"
    shutil.copy2(older, build)
    assert spare.catch_up(build, newest, SQL_DIR, max_lag=0.5) is None
    assert tables(build) == tables(older)


def test_a_spare_held_open_is_not_written_the_run_copies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, keep=0)
    for step in range(2):
        add(settings, step)
    caplog.set_level(logging.INFO, logger=BUILD_LOG)
    held = publication.spare_path(settings.warehouse_path)
    # Another process holding it (a BI tool's old snapshot): DuckDB's lock refuses the writer.
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select count(*) from meta.releases').fetchone()[0], flush=True); "
            "sys.stdin.read(); "
            "print(c.execute('select count(*) from meta.releases').fetchone()[0], flush=True)",
            str(held),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    seen_before = reader.stdout.readline().strip()
    add(settings, 2)
    seen_after, _ = reader.communicate("")
    assert seen_before == seen_after.strip() == "1"  # its snapshot untouched
    assert "cannot be used" in caplog.text and "caught up" not in caplog.text
    # This process holding it: file locks are per process, so it is checked by descriptor.
    caplog.clear()
    held = publication.spare_path(settings.warehouse_path)
    held_here = duckdb.connect(str(held), read_only=True)
    try:
        assert spare.held_by_this_process(held)
        add(settings, 3)
        assert held_here.execute("select count(*) from meta.releases").fetchone() == (2,)
    finally:
        held_here.close()
    assert "cannot be used" in caplog.text and "caught up" not in caplog.text
    # A spare that is no DuckDB file (a disk's fault, a hand's): the run copies, all is loaded.
    caplog.clear()
    publication.spare_path(settings.warehouse_path).write_bytes(b"not a database" * 1000)
    add(settings, 4)
    assert "cannot be used" in caplog.text and "caught up" not in caplog.text
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select count(*) from meta.releases").fetchone() == (5,)
    con.close()
