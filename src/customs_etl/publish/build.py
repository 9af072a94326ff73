"""Publication: the job never writes the published file in place. It copies it to a private
build database beside it, loads and rebuilds there, checks the result, and publishes it with an
atomic rename; readers holding the old file keep a consistent snapshot. Earlier versions are
kept for rollback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from customs_etl.load.connection import connect

# Checked on the build database before it may replace the published one.
PUBLICATION_CHECKS = ("marts.trade_monthly", "marts.trade_half_year", "meta.releases")


def build_path_for(published: Path) -> Path:
    """The private build database: beside the published file, so the rename is atomic."""
    return published.with_name(f".{published.name}.build")


def start_build(published: Path) -> Path:
    """A fresh private copy of the published warehouse (or an empty one) to work in."""
    build = build_path_for(published)
    for leftover in (build, build.with_name(build.name + ".wal")):
        leftover.unlink(missing_ok=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    if published.exists():
        shutil.copy2(published, build)
    return build


def publish(build: Path, published: Path, keep_versions: int = 5) -> dict[str, int]:
    """Checkpoint, check read-only, keep the outgoing version, then atomically replace."""
    con = connect(build)
    con.execute("checkpoint")
    con.close()
    counts = check_build(build)
    _keep_outgoing_version(published, keep_versions)
    os.replace(build, published)
    _fsync_directory(published.parent)
    return counts


def versions_dir(published: Path) -> Path:
    return published.parent / "versions"


def list_versions(published: Path) -> list[Path]:
    """Earlier published versions, newest first."""
    folder = versions_dir(published)
    return sorted(folder.glob(f"{published.stem}-*.duckdb"), reverse=True)


def rollback(published: Path, version: Path) -> None:
    """Publish an earlier version again, the same atomic way (the current one is kept too)."""
    if version.parent != versions_dir(published) or not version.is_file():
        raise FileNotFoundError(f"{version} is not a kept version of {published}")
    build = build_path_for(published)
    build.unlink(missing_ok=True)
    shutil.copy2(version, build)
    check_build(build)
    _keep_outgoing_version(published, keep=len(list_versions(published)) + 1)
    os.replace(build, published)
    _fsync_directory(published.parent)


def _keep_outgoing_version(published: Path, keep: int) -> None:
    """A hard link to the file about to be replaced: free, since a published file is never
    written in place."""
    if keep <= 0 or not published.exists():
        return
    folder = versions_dir(published)
    folder.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    os.link(published, folder / f"{published.stem}-{stamp}.duckdb")
    for stale in list_versions(published)[keep:]:
        stale.unlink()


def check_build(build: Path) -> dict[str, int]:
    """Open the build read-only and count the key tables; an empty mart is not published."""
    con = connect(build, read_only=True)
    try:
        counts = {
            table: int(con.execute(f"select count(*) from {table}").fetchone()[0])  # type: ignore[index]
            for table in PUBLICATION_CHECKS
        }
    finally:
        con.close()
    empty = [table for table, count in counts.items() if count == 0]
    if empty:
        raise RuntimeError(f"refusing to publish {build}: empty tables {empty}")
    return counts


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
