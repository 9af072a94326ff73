"""Publication: the job never writes a published file. It copies the current one to a private
build database beside it, loads and rebuilds there, checks the result, moves it to a file of its
own under `versions/` and switches the published name (a symbolic link) to it with one atomic
rename. Readers holding the old file keep a consistent snapshot; new connections, even in a
process that holds the old one open, see the new one. Earlier versions are kept for rollback."""

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
    """Checkpoint, check read-only, then move the build to a file of its own under versions/
    and switch the published link to it atomically."""
    con = connect(build)
    con.execute("checkpoint")
    con.close()
    counts = check_build(build)
    version = _new_version_path(published)
    os.replace(build, version)
    _switch_link(published, version)
    _prune_versions(published, keep_versions)
    return counts


def versions_dir(published: Path) -> Path:
    return published.parent / "versions"


def current_version(published: Path) -> Path | None:
    """The version file the published link points at (None: no link yet)."""
    if not published.is_symlink():
        return None
    return (published.parent / os.readlink(published)).resolve()


def list_versions(published: Path) -> list[Path]:
    """Kept versions other than the one published now, newest first."""
    current = current_version(published)
    folder = versions_dir(published)
    every = sorted(folder.glob(f"{published.stem}-*.duckdb"), reverse=True)
    return [v for v in every if v.resolve() != current]


def rollback(published: Path, version: Path) -> None:
    """Publish a kept version again by switching the link to it (the current one stays kept)."""
    if version.parent != versions_dir(published) or not version.is_file():
        raise FileNotFoundError(f"{version} is not a kept version of {published}")
    check_build(version)
    _switch_link(published, version)


def _new_version_path(published: Path) -> Path:
    """versions/<stem>-<UTC stamp>.duckdb, never an existing name."""
    folder = versions_dir(published)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        candidate = folder / f"{published.stem}-{stamp}.duckdb"
        if not candidate.exists():
            return candidate


def _switch_link(published: Path, version: Path) -> None:
    """Point the published name at `version` with one rename of a new symbolic link.

    A link and not a rename of the file: DuckDB reuses a database already open in a process
    for a new connection to the same file name, so after a rename a BI tool's pool kept
    answering from the old file; through a link to a new file name it opens the new one.
    A published name that is still a plain file (the layout before links) is kept first as a
    version, by a hard link (no copy)."""
    if published.exists() and not published.is_symlink():
        os.link(published, _new_version_path(published))
    temporary = published.with_name(f".{published.name}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version, published.parent), temporary)
    os.replace(temporary, published)
    _fsync_directory(published.parent)


def _prune_versions(published: Path, keep: int) -> None:
    """Keep the `keep` newest versions besides the published one; never the one linked."""
    for stale in list_versions(published)[max(keep, 0) :]:
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
