"""A BI tool holding the warehouse open (Superset's duckdb-engine, read-only) through a run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from backends import use_backend
from support import export_file, load, run_job

from customs_etl.publish import build as publication

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sqlalchemy import create_engine, text

    path, stop, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    query = text("select sum(value_usd) from marts.trade_monthly where flow = 'total'")
    # The SQLAlchemy URI a Superset user pastes (see README, "BI tools").
    engine = create_engine(f"duckdb:///{path}?access_mode=read_only")
    answers, errors = [], []
    with engine.connect() as connection:  # held open for the whole run, as a dashboard does
        while not stop.exists():
            try:
                answers.append(int(connection.execute(query).scalar()))
            except Exception as error:  # noqa: BLE001 - every error is a finding here
                errors.append(repr(error))
            time.sleep(0.01)
    engine.dispose()
    engine = create_engine(f"duckdb:///{path}?access_mode=read_only")
    with engine.connect() as connection:
        after = int(connection.execute(query).scalar())
    out.write_text(json.dumps({"answers": answers, "errors": errors, "after": after}))
    """
)


def test_a_superset_style_reader_sees_old_or_new_never_a_mix(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    landing = tmp_path / "landing"
    published = tmp_path / "warehouse" / "customs.duckdb"
    for month in range(1, 7):
        export_file(
            landing / f"export/2024-{month:02d}",
            "a.csv",
            f"2024{month:02d}",
            [("109", "1006", 100)],
        )
    run_job(str(landing), str(published))
    old_total = 600
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader-{i}.json" for i in range(3)]  # several dashboards at once
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(out)])
        for out in outs
    ]
    try:
        time.sleep(3)  # the readers are connected and answering
        for month in range(1, 7):
            export_file(
                landing / f"import/2024-{month:02d}",
                "a.csv",
                f"2024{month:02d}",
                [("109", "6704", 50)],
            )
        summary = run_job(str(landing), str(published))
        assert summary.published
        time.sleep(0.5)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    for out in outs:
        result = json.loads(out.read_text())
        assert result["errors"] == []
        assert len(result["answers"]) > 20
        assert set(result["answers"]) == {old_total}  # a held connection keeps its snapshot
        assert result["after"] == old_total + 300  # reconnecting sees the new warehouse


# The same reader on the lake: an in-memory DuckDB per connection with the lake attached
# read-only on connect (docs/deploy.md, Superset). SQLAlchemy keeps a connection in one
# transaction until it ends, so a held connection keeps its snapshot, as on the embedded file.
LAKE_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sqlalchemy import create_engine, event, text

    catalog, data_path, stop, out = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    query = text("select sum(value_usd) from marts.trade_monthly where flow = 'total'")
    engine = create_engine("duckdb:///:memory:")

    @event.listens_for(engine, "connect")
    def attach_lake(dbapi_connection, _record):
        for statement in (
            "load ducklake",
            "load sqlite_scanner",
            f"attach 'ducklake:{catalog}' as lake (read_only, data_path '{data_path}')",
            "use lake",
        ):
            dbapi_connection.execute(statement)

    answers, errors = [], []
    with engine.connect() as connection:  # held open for the whole run, as a dashboard does
        while not stop.exists():
            try:
                answers.append(int(connection.execute(query).scalar()))
            except Exception as error:  # noqa: BLE001 - every error is a finding here
                errors.append(repr(error))
            time.sleep(0.01)
    with engine.connect() as connection:  # a new transaction: the latest snapshot
        after = int(connection.execute(query).scalar())
    out.write_text(json.dumps({"answers": answers, "errors": errors, "after": after}))
    """
)


def test_a_superset_style_reader_on_the_lake_keeps_its_snapshot_through_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = use_backend("lake", tmp_path, monkeypatch)
    landing = tmp_path / "landing"
    for month in range(1, 7):
        export_file(
            landing / f"export/2024-{month:02d}",
            "a.csv",
            f"2024{month:02d}",
            [("109", "1006", 100)],
        )
    run_job(str(landing), None)
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader-{i}.json" for i in range(2)]
    settings = where.settings
    readers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAKE_READER,
                str(settings.lake_catalog),
                str(settings.lake_data_path),
                str(stop),
                str(out),
            ]
        )
        for out in outs
    ]
    try:
        time.sleep(3)  # the readers are connected and answering
        for month in range(1, 7):
            export_file(
                landing / f"import/2024-{month:02d}",
                "a.csv",
                f"2024{month:02d}",
                [("109", "6704", 50)],
            )
        assert run_job(str(landing), None).published
        time.sleep(1)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    for out in outs:
        result = json.loads(out.read_text())
        assert result["errors"] == []
        assert len(result["answers"]) > 20
        assert set(result["answers"]) == {600}  # a held connection keeps its snapshot
        assert result["after"] == 900  # a new one sees the run's snapshot


POOLED_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sqlalchemy import create_engine, text

    path, published, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    query = text("select sum(value_usd) from marts.trade_monthly where flow = 'total'")
    # Superset's engine: SQLAlchemy's QueuePool over duckdb-engine, read-only.
    engine = create_engine(f"duckdb:///{path}?access_mode=read_only", pool_size=5)
    held = engine.connect()  # a dashboard's connection, held across the publish
    before = int(held.execute(query).scalar())
    print("ready", flush=True)
    while not published.exists():
        time.sleep(0.01)
    with engine.connect() as fresh:  # a new checkout while `held` is still open
        after = int(fresh.execute(query).scalar())
    still_held = int(held.execute(query).scalar())
    held.close()
    with engine.connect() as reused:  # a pooled connection opened after the publish
        reused_after = int(reused.execute(query).scalar())
    out.write_text(json.dumps({"before": before, "after": after, "held": still_held,
                               "reused": reused_after, "pool": engine.pool.status()}))
    """
)


def test_a_pooled_reader_sees_a_new_publication_while_holding_the_old(tmp_path: Path) -> None:
    """Catches the stale pool: DuckDB reuses a database already open in a process for a new
    connection to the same file name, so a publish by rename left every new pooled connection
    of a dashboard answering from the old file. Published through a link to a new version file,
    a new checkout answers the new figures while the held one keeps its snapshot."""
    landing = tmp_path / "landing"
    published = tmp_path / "warehouse" / "customs.duckdb"
    files = [export_file(landing / "export/2024-01", "a.csv", "202401", [("109", "1006", 100)])]

    def publish() -> None:
        build = publication.start_build(published)
        load(build, landing, files, tmp_path / "staging")
        publication.publish(build, published)

    publish()
    signal, out = tmp_path / "published", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", POOLED_READER, str(published), str(signal), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        files.append(
            export_file(landing / "import/2024-01", "a.csv", "202401", [("109", "6704", 50)])
        )
        publish()
        signal.touch()
        assert reader.wait(timeout=60) == 0
    finally:
        reader.kill()
    result = json.loads(out.read_text())
    assert (result["before"], result["held"]) == (100, 100)  # the held snapshot
    assert (result["after"], result["reused"]) == (150, 150)  # new checkouts: the new data
