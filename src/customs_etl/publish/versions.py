"""Kept versions of the embedded warehouse, as release sets rather than files.

A version is what one publication held: its name (the file it was published as) and the
releases in its registry, recorded in `meta.versions` of every later publication. Only two
files exist: the published version and the spare (the version published before it, which the
next run catches up: publish/spare.py). `rollback` rebuilds an earlier version from the
published one: it removes the releases that version did not hold and rebuilds the models over
the months they touched, which is what the runs that built it computed, since core keeps every
vintage and the marts are rebuilt from core. Then it publishes the result as a new version.

Why not files: the spare must be older than every kept file, so with 5 kept files it lagged 6
runs, and catching it up cost more than copying the published file (docs/benchmarks.md, "The
spare version"). With release sets the spare lags one run, whatever is kept.

A version whose releases are no longer all loaded (one rolled back from) is not offered: the
next run of the job loads its releases again from the landing zone, as it would after any
rollback. Version files left by a release before this one (under `versions/`) are recorded from
their own registries at the next publication; files that cannot be read are still offered as
files and published again by switching the link, as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb

from customs_etl import guard
from customs_etl.load import models, registry
from customs_etl.load.connection import connect, literal
from customs_etl.publish import build as publication

log = logging.getLogger(__name__)

RELEASES = "select coalesce(list(release_id order by release_id), []) from {db}meta.releases"


def record(con: duckdb.DuckDBPyConnection, published: Path, name: str, keep: int) -> set[str]:
    """In the build about to be published as `name`: its releases, and the kept versions
    trimmed to the `keep` newest besides it (names sort as their UTC stamps). Returns the
    version files that could not be recorded: they stay files."""
    unreadable = _record_files(con, published)
    con.execute(
        "insert or replace into meta.versions " + f"select ?, ?, ({RELEASES.format(db='')})",
        [name, _utc(dt.datetime.now(dt.UTC))],
    )
    con.execute(
        "delete from meta.versions where version not in "
        "(select version from meta.versions order by version desc limit ?)",
        [max(keep, 0) + 1],
    )
    return unreadable


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)  # the warehouse's timestamps are naive UTC


def _record_files(con: duckdb.DuckDBPyConnection, published: Path) -> set[str]:
    """Versions kept as files by an earlier release of this code, recorded from their own
    registries (once: then they are deleted like any other version file but the spare); the
    names of those that cannot be read."""
    known, unreadable = recorded(con), set()
    for path in publication.version_files(published):
        if path.name in known:
            continue
        alias = "earlier_version"
        try:
            con.execute(f"attach {literal(str(path))} as {alias} (read_only)")
        except duckdb.Error as error:  # held by another process, or not a database
            log.warning("Version %s could not be read (%s); it stays a file.", path.name, error)
            unreadable.add(path.name)
            continue
        try:
            con.execute(
                f"insert into meta.versions select ?, ?, ({RELEASES.format(db=alias + '.')})",
                [path.name, _utc(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC))],
            )
        finally:
            con.execute(f"detach {alias}")
    return unreadable


def recorded(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute("select version from meta.versions").fetchall()}


def names(published: Path) -> list[str]:
    """Kept versions `rollback` can publish again, newest first: those whose releases are all
    still in the published registry (and not all of them), then version files not recorded.
    A link to a missing file offers the version files alone (nothing recorded can be read)."""
    if published.is_symlink() and not published.exists():
        return [path.name for path in publication.list_versions(published)]
    guard.published_database(published)  # missing, a folder, not DuckDB: one line
    current = publication.current_version(published)
    con = connect(published, read_only=True)
    try:
        try:
            offered = con.execute(
                "select version from meta.versions "
                f"where version <> ? and list_has_all(({RELEASES.format(db='')}), release_ids) "
                f"and not list_has_all(release_ids, ({RELEASES.format(db='')})) "
                "order by version desc",
                [current.name if current else ""],
            ).fetchall()
            every = recorded(con)
        except duckdb.CatalogException:  # published before versions were recorded
            offered, every = [], set()
    finally:
        con.close()
    files = [p.name for p in publication.list_versions(published) if p.name not in every]
    return [name for (name,) in offered] + files


def rollback(
    published: Path,
    name: str,
    sql_dir: Path,
    seeds_dir: Path,
    keep: int,
    max_lag: float,
) -> str:
    """Publish the version `name` again: rebuilt from the published one as a new version
    (returned), or, for a version file not recorded, by switching the link to it. The caller
    holds the run lock."""
    target = _releases(published, name)
    if target is None:
        publication.rollback(published, publication.versions_dir(published) / name)
        return name
    build = publication.start_build(published, sql_dir, max_lag)
    try:
        con = connect(build)
        try:
            remove_releases(con, target, sql_dir, seeds_dir)
        finally:
            con.close()
        publication.publish(build, published, keep)
    except BaseException:
        publication.wait_for_build(build)
        build.unlink(missing_ok=True)
        raise
    current = publication.current_version(published)
    assert current is not None
    return current.name


def _releases(published: Path, name: str) -> list[str] | None:
    con = connect(published, read_only=True)
    try:
        row = con.execute(
            "select release_ids from meta.versions where version = ?", [name]
        ).fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return None if row is None else list(row[0])


def remove_releases(
    con: duckdb.DuckDBPyConnection, kept: list[str], sql_dir: Path, seeds_dir: Path
) -> int:
    """Remove every release not in `kept` (rows, registry) and rebuild the models over the
    months those releases touched, as if they had never been loaded; returns how many."""
    from customs_etl.publish import spare

    removed = [
        row
        for row in con.execute(
            "select release_id, source_name from meta.releases "
            "where not list_contains(?, release_id)",
            [kept],
        ).fetchall()
    ]
    if not removed:
        return 0
    ids = ", ".join(literal(release_id) for release_id, _ in removed)
    # The months of the removed releases and of the other vintages of their downloads, read
    # before the registry forgets them.
    months = registry.touched_periods(con, [source for _, source in removed])
    by_release, _, _ = spare.tables_by_kind(con, sql_dir)
    con.execute("begin transaction")
    for table in by_release:
        con.execute(f"delete from {table} where release_id in ({ids})")
    con.execute(f"delete from meta.releases where release_id in ({ids})")
    con.execute("commit")
    models.build_models(con, sql_dir, seeds_dir, touched_periods=months)
    log.info("Rollback: %d release(s) removed, %d month(s) rebuilt.", len(removed), len(months))
    return len(removed)
