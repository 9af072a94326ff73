"""Publication: the job never writes a published file. It builds in a private database beside
it (the spare version brought up to date, publish/spare.py, else a copy of the published
file), loads and rebuilds there, checks the result, moves it to a file of its own under
`versions/` and switches the published name (a symbolic link) to it with one atomic rename.
Readers holding the old file keep a consistent snapshot; new connections, even in a process
that holds the old one open, see the new one. The version published before becomes the spare
(the next run's build); earlier versions are kept as release sets (publish/versions.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from customs_etl.load import connection
from customs_etl.load.connection import connect

log = logging.getLogger(__name__)

# Checked on the build database before it may replace the published one.
PUBLICATION_CHECKS = ("marts.trade_monthly", "marts.trade_half_year", "meta.releases")


def build_path_for(published: Path) -> Path:
    """The private build database: beside the published file, so the rename is atomic."""
    return published.with_name(f".{published.name}.build")


def start_build(published: Path, sql_dir: Path | None = None, max_lag: float = 1.0) -> Path:
    """The private database to work in, holding what is published now (nothing on a first
    run). Given the models' `sql_dir`, it is made ready in the background (the spare version
    brought up to date where it can be, else a copy of the published file; then the schema's
    DDL applied): the first connection to it waits (load.connection), so the run parses and
    validates meanwhile. Without, it is a copy, ready on return."""
    build = build_path_for(published)
    for leftover in (build, build.with_name(build.name + ".wal")):
        leftover.unlink(missing_ok=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    if sql_dir is None:
        if published.exists():
            shutil.copy2(published, build)
        return build
    ready: Future[None] = Future()
    # Not a daemon thread: an interpreter ending mid-write would leave DuckDB half way.
    worker = threading.Thread(
        target=_prepare, args=(published, build, sql_dir, max_lag, ready), name="prepare-build"
    )
    connection.preparing(build, ready, worker)
    _WORKERS[build] = worker
    worker.start()
    return build


_WORKERS: dict[Path, threading.Thread] = {}  # the thread preparing each build


def _prepare(
    published: Path, build: Path, sql_dir: Path, max_lag: float, ready: Future[None]
) -> None:
    """Make the build ready (in its own thread); the outcome is set on `ready`."""
    from customs_etl.load import models

    try:
        started = time.perf_counter()
        if published.exists() and not _caught_up(published, build, sql_dir, max_lag):
            build.unlink(missing_ok=True)
            shutil.copy2(published, build)
        con = connect(build)
        try:
            models.prepare_schema(con, sql_dir)
        finally:
            con.close()
        log.debug("The build was ready after %.2f s.", time.perf_counter() - started)
        ready.set_result(None)
    except BaseException as error:  # raised again in the run's thread, at its first connection
        ready.set_exception(error)
    finally:
        _WORKERS.pop(build, None)


def wait_for_build(build: Path) -> None:
    """Let the preparation of `build` end, whatever its outcome: before it is deleted unused
    (its error, if any, is not the run's: the run ends for its own reason)."""
    worker = _WORKERS.pop(build, None)
    if worker is not None:
        worker.join()
    with contextlib.suppress(Exception):
        connection.wait_until_ready(build)


def _caught_up(published: Path, build: Path, sql_dir: Path, max_lag: float) -> bool:
    """Rename the spare to the build and bring it up to date; False leaves no usable build."""
    from customs_etl.publish import spare  # the models' runner: not for a run with nothing new

    current = current_version(published)
    kept = spare_path(published)
    if current is None or not kept.is_file():
        return False
    os.replace(kept, build)  # from here on it is no version: a failed run just deletes it
    started = time.perf_counter()
    caught_up = spare.catch_up(build, current, sql_dir, max_lag)
    if caught_up is None:
        log.info("Copying the published warehouse (the spare version cannot be used).")
        return False
    log.info(
        "Build: the spare version caught up in %.2f s (%d release(s) added, %d removed, "
        "%d month(s)), no copy of the published file.",
        time.perf_counter() - started,
        caught_up.added,
        caught_up.removed,
        caught_up.months,
    )
    return True


def spare_path(published: Path) -> Path:
    """Hidden beside the kept versions: not a version, never offered to `rollback`."""
    return versions_dir(published) / f".{published.stem}.spare.duckdb"


def publish(build: Path, published: Path, keep_versions: int = 5) -> dict[str, int]:
    """Record the version's releases, checkpoint, check read-only, then move the build to a
    file of its own under versions/ and switch the published link to it atomically. The
    version published before becomes the spare; earlier ones are kept as release sets
    (publish/versions.py), not files."""
    from customs_etl.publish import versions

    version = _new_version_path(published)
    con = connect(build)
    try:
        unreadable = versions.record(con, published, version.name, keep_versions)
        con.execute("checkpoint")
    finally:
        con.close()
    counts = check_build(build)
    os.replace(build, version)
    _switch_link(published, version)
    _prune_versions(published, unreadable)
    return counts


def versions_dir(published: Path) -> Path:
    return published.parent / "versions"


def current_version(published: Path) -> Path | None:
    """The version file the published link points at (None: no link yet)."""
    if not published.is_symlink():
        return None
    return (published.parent / os.readlink(published)).resolve()


def version_files(published: Path) -> list[Path]:
    """Every version file under versions/ (the published one among them), newest first."""
    return sorted(versions_dir(published).glob(f"{published.stem}-*.duckdb"), reverse=True)


def list_versions(published: Path) -> list[Path]:
    """Version files other than the one published now, newest first."""
    current = current_version(published)
    return [v for v in version_files(published) if v.resolve() != current]


def rollback(published: Path, version: Path) -> None:
    """Publish a version file again by switching the link to it (the current one stays)."""
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


def _prune_versions(published: Path, unreadable: set[str]) -> None:
    """Of the version files besides the published one, the newest (the version published
    before) becomes the spare, replacing the older spare; the others are deleted: their
    releases are recorded (publish/versions.py). A file that could not be read is kept."""
    stale = [path for path in list_versions(published) if path.name not in unreadable]
    if stale:
        os.replace(stale[0], spare_path(published))
    for older in stale[1:]:
        older.unlink()


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
