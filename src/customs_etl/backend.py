"""Which storage the warehouse lives in, chosen by settings alone: the embedded DuckDB file
(load/connection.py, publish/build.py: the default) or the lake (load/lake.py, publish/lake.py:
DuckLake on a PostgreSQL or SQLite catalog and Parquet in a folder or S3). The job and the
command line call these, never either backend directly, so both work on either."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from customs_etl.load import connection, lake, registry
from customs_etl.publish import as_of_copy, parquet_export, versions
from customs_etl.publish import build as publication
from customs_etl.publish import lake as lake_publication
from customs_etl.settings import Settings


def is_lake(settings: Settings) -> bool:
    return lake.enabled(settings)


def name(settings: Settings) -> str:
    """Where the warehouse is, for messages."""
    return lake.describe(settings) if lake.enabled(settings) else str(settings.warehouse_path)


@contextlib.contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    if lake.enabled(settings):
        with lake.run_lock(settings):
            yield
    else:
        with connection.run_lock(settings.warehouse_path):
            yield


def exists(settings: Settings) -> bool:
    if lake.enabled(settings):
        return lake.exists(settings)
    return settings.warehouse_path.exists()


def open_reader(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Read-only, external access off: for ad-hoc SQL, reports and status."""
    if lake.enabled(settings):
        return lake.reader(settings)
    return connection.connect(settings.warehouse_path, read_only=True)


def loaded_release_ids(settings: Settings) -> set[str]:
    if not lake.enabled(settings):
        return registry.loaded_release_ids(settings.warehouse_path)
    if not lake.exists(settings):
        return set()
    con = lake.reader(settings)
    try:
        rows = con.execute("select release_id from meta.releases where status = 'loaded'")
        return {row[0] for row in rows.fetchall()}
    finally:
        con.close()


def start_build(settings: Settings) -> Path:
    """Where this run builds, with the schema's DDL applied: a private database holding what
    is published (the spare version caught up, or a copy; made ready in the background, and
    the first connection waits for it), or the lake's open transaction (both opened through
    load.connection.connect by the path returned)."""
    if not lake.enabled(settings):
        return publication.start_build(
            settings.warehouse_path, settings.sql_dir, settings.spare_max_lag
        )
    from customs_etl.load import models

    build = lake.start_build(settings)
    models.prepare_schema(connection.connect(build), settings.sql_dir)  # the run's own
    return build


def discard_build(settings: Settings, build: Path) -> None:
    """Nothing of this run is published."""
    if lake.enabled(settings):
        lake.discard(build)
    else:
        publication.wait_for_build(build)
        build.unlink(missing_ok=True)


def publish(settings: Settings, build: Path) -> dict[str, int]:
    if lake.enabled(settings):
        return lake_publication.publish(settings, build)
    return publication.publish(build, settings.warehouse_path, settings.keep_versions)


def list_versions(settings: Settings) -> list[str]:
    """Kept earlier versions, newest first, by the names `rollback --to` takes."""
    if lake.enabled(settings):
        return lake_publication.list_versions(settings) if lake.exists(settings) else []
    return versions.names(settings.warehouse_path)


def current_version(settings: Settings) -> str | None:
    """The version published now, by the name `rollback --list` would give it later."""
    if lake.enabled(settings):
        return lake_publication.current_version(settings)
    current = publication.current_version(settings.warehouse_path)
    return current.name if current else None


def kept_version(settings: Settings, versions: list[str], asked: str) -> str | None:
    """The kept version (one of `versions`) that `asked` names, else None. A file version is
    named by its file name only (a path is not a name); a lake snapshot also by its id."""
    if asked in versions:
        return asked
    if lake.enabled(settings):
        try:
            wanted = lake_publication.snapshot_id(asked)
        except ValueError:
            return None
        return next((v for v in versions if lake_publication.snapshot_id(v) == wanted), None)
    return None


def rollback(settings: Settings, version: str) -> str | None:
    """Publish a kept version again; the caller holds the run lock. On the embedded backend
    it is rebuilt from its releases and published as a new version, whose name is returned."""
    if lake.enabled(settings):
        lake_publication.rollback(settings, lake_publication.snapshot_id(version))
        return None
    return versions.rollback(
        settings.warehouse_path,
        version,
        settings.sql_dir,
        settings.seeds_dir,
        settings.keep_versions,
        settings.spare_max_lag,
    )


def build_as_of(
    settings: Settings, day: dt.date, target: Path | None, snapshot: int | None = None
) -> tuple[Path, int | None]:
    """A local DuckDB file whose marts show what was known on `day`, and the lake snapshot it
    was read from (None on the embedded backend)."""
    out = target or as_of_copy.as_of_path(settings.warehouse_path, day)
    if lake.enabled(settings):
        return lake_publication.build_as_of(settings, day, out, snapshot)
    if snapshot is not None:
        raise ValueError("--snapshot needs the lake backend (CUSTOMS_LAKE_CATALOG)")
    path = as_of_copy.build_as_of(
        settings.warehouse_path, day, settings.sql_dir, settings.seeds_dir, out
    )
    return path, None


def export_marts(
    settings: Settings, directory: Path, check: Callable[[Path], object] | None = None
) -> list[Path]:
    """One Parquet file per mart, each written whole or not at all (`check` vets each name
    before anything is written)."""
    if lake.enabled(settings):
        con = lake.reader(settings, locked_down=False)  # it writes the files itself
        try:
            return parquet_export.write_marts(con, directory, check)
        finally:
            con.close()
    return parquet_export.export_marts(settings.warehouse_path, directory, check)
