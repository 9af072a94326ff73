"""Publishing on the lake (see load/lake.py for the connection and the run's transaction):
the commit that makes a run one snapshot, the upkeep after it, the kept versions (snapshots),
rollback, as-of and the Parquet export, all by DuckLake's snapshots rather than copies."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from customs_etl.load import lake

if TYPE_CHECKING:
    from customs_etl.settings import Settings

# Compaction merges files smaller than this (see upkeep).
_MERGE_BELOW_BYTES = 16 * 1024 * 1024
PUBLISH_MESSAGE = "customs-etl publish"
ROLLBACK_MESSAGE = "customs-etl rollback"
# Tables a run may not publish empty (as publish/build.py's PUBLICATION_CHECKS).
_PUBLICATION_CHECKS = ("marts.trade_monthly", "marts.trade_half_year", "meta.releases")


def publish(settings: Settings, build: Path) -> dict[str, int]:
    """Check the run's marts, commit (one new snapshot), then the upkeep, outside the commit."""
    con = lake.run_connection(build)
    counts = {
        table: int(con.execute(f"select count(*) from {table}").fetchone()[0])  # type: ignore[index]
        for table in _PUBLICATION_CHECKS
    }
    empty = [table for table, count in counts.items() if count == 0]
    if empty:
        lake.discard(build)
        raise RuntimeError(
            f"refusing to publish to {lake.describe(settings)}: empty tables {empty}"
        )
    con.execute(f"call {lake.LAKE}.set_commit_message('customs-etl', ?)", [PUBLISH_MESSAGE])
    con.execute("commit")
    lake.forget_run(build)
    try:
        upkeep(con, settings.keep_versions)
    finally:
        con.close()
    return counts


# --- upkeep --------------------------------------------------------------------------------


def upkeep(con: duckdb.DuckDBPyConnection, keep_versions: int) -> None:
    """After publishing, still under the run lock (so no other writer races it) and in
    transactions of its own (readers keep reading the published snapshot meanwhile): merge
    the small files runs leave, expire the snapshots older than the kept versions, and delete
    the files nothing references any more. Compaction holds the catalog transaction while it
    merges (ducklake issue 1462): that only delays the next run's lock, never a reader."""
    # Only files below _MERGE_BELOW_BYTES are merged: a merged file grows until it passes that
    # size and is then left alone, so compaction never rewrites the history (by default the
    # target size is 512 MB, and the whole of core would be rewritten with every month).
    con.execute(
        f"call ducklake_merge_adjacent_files('{lake.LAKE}', max_file_size => ?)",
        [_MERGE_BELOW_BYTES],
    )
    expired = expire_snapshots(con, keep_versions)
    if expired:
        # Files of expired snapshots; an hour's grace for a query still reading one.
        con.execute(
            f"call ducklake_cleanup_old_files('{lake.LAKE}', older_than => now() - interval 1 hour)"
        )


def expire_snapshots(con: duckdb.DuckDBPyConnection, keep_versions: int) -> int:
    """Expire every snapshot older than the oldest of the last `keep_versions` published ones
    before the current (the versions `rollback` offers); returns how many."""
    published = _published_snapshots(con)
    kept = published[: keep_versions + 1]
    if len(published) <= len(kept):
        return 0
    oldest_kept = kept[-1][0]
    stale = [
        snapshot
        for (snapshot,) in con.execute(
            f"select snapshot_id from ducklake_snapshots('{lake.LAKE}') where snapshot_id < ?",
            [oldest_kept],
        ).fetchall()
    ]
    if stale:
        con.execute(f"call ducklake_expire_snapshots('{lake.LAKE}', versions => ?)", [stale])
    return len(stale)


def _published_snapshots(con: duckdb.DuckDBPyConnection) -> list[tuple[int, dt.datetime]]:
    """Snapshots a run or a rollback committed, newest first."""
    return con.execute(
        f"select snapshot_id, snapshot_time from ducklake_snapshots('{lake.LAKE}') "
        "where commit_message in (?, ?) order by snapshot_id desc",
        [PUBLISH_MESSAGE, ROLLBACK_MESSAGE],
    ).fetchall()


# --- versions, rollback, as-of ---------------------------------------------------------------


def list_versions(settings: Settings) -> list[str]:
    """Earlier published versions, newest first, as `snapshot-<id>` (the current one is not
    listed, as the embedded backend lists only outgoing files)."""
    con = lake.reader(settings)
    try:
        published = _published_snapshots(con)
    finally:
        con.close()
    return [_version_name(sid, when) for sid, when in published[1:]]


def current_version(settings: Settings) -> str | None:
    """The published snapshot's name, as list_versions will give it once it is kept."""
    con = lake.reader(settings)
    try:
        published = _published_snapshots(con)
    finally:
        con.close()
    return _version_name(*published[0]) if published else None


def _version_name(snapshot: int, when: dt.datetime) -> str:
    return f"snapshot-{snapshot} ({when:%Y-%m-%d %H:%M:%S} UTC)"


def snapshot_id(name: str) -> int:
    match = re.fullmatch(r"(?:snapshot-)?(\d+)(?: \(.*\))?", name.strip())
    if not match:
        raise ValueError(f"{name!r}: expected a version as listed, e.g. snapshot-12")
    return int(match[1])


def rollback(settings: Settings, snapshot: int) -> None:
    """Publish the tables as they were at `snapshot` again, as one new snapshot (the current
    one stays a kept version). Tables created since are dropped. Costs a rewrite of the
    warehouse's tables, which is what a rollback is for; caller holds the run lock."""
    con = lake.connect(settings)
    try:
        versions = [sid for sid, _ in _published_snapshots(con)]
        if snapshot not in versions:
            raise lake.LakeError(f"snapshot-{snapshot} is not a published version of the lake")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = ? and table_type = 'BASE TABLE'",
            [lake.LAKE],
        ).fetchall()
        con.execute("begin transaction")
        for schema, table in tables:
            name = f"{schema}.{table}"
            try:
                con.execute(f"select 1 from {name} at (version => {snapshot}) limit 0")
            except duckdb.CatalogException:
                con.execute(f"drop table {name}")
                continue
            con.execute(f"delete from {name}")
            con.execute(
                f"insert into {name} by name select * from {name} at (version => {snapshot})"
            )
        con.execute(f"call {lake.LAKE}.set_commit_message('customs-etl', ?)", [ROLLBACK_MESSAGE])
        con.execute("commit")
    finally:
        con.close()


def snapshot_at(settings: Settings, moment: dt.datetime) -> int:
    """The snapshot current at `moment` (UTC), or the latest when the lake is younger."""
    con = lake.reader(settings)
    try:
        [(then, latest)] = con.execute(
            f"select max(snapshot_id) filter (where snapshot_time <= ?), max(snapshot_id) "
            f"from ducklake_snapshots('{lake.LAKE}')",
            [moment.replace(tzinfo=dt.UTC)],
        ).fetchall()
    finally:
        con.close()
    return then if then is not None else latest


def _loaded_tables(sql_dir: Path) -> list[str]:
    """The tables the job loads (the DDL models that create tables): in an as-of file, views
    on the lake's tables. Read from sql/ so a new loaded table is never forgotten here;
    meta.models is the model runner's own record, written locally by the as-of build."""
    from customs_etl.load import models

    return [
        m.name
        for m in models.ordered([m for m in models.discover_models(sql_dir) if m.is_ddl])
        if _statement(m.sql).startswith("create table") and m.name != "meta.models"
    ]


def _statement(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql).strip().lower()


def build_as_of(
    settings: Settings, as_of: dt.date, target: Path, snapshot: int | None = None
) -> tuple[Path, int]:
    """A local DuckDB file whose marts show what was known on `as_of` (releases published by
    then), computed from the lake's core at a snapshot: `snapshot`, else the one current at
    the end of that day (or the latest when the lake is younger). Only the marts and core's
    aggregates are written locally; core stays in the lake."""
    from customs_etl.load import models
    from customs_etl.load.connection import connect

    if snapshot is None:
        end_of_day = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
        snapshot = snapshot_at(settings, end_of_day)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    con = connect(
        partial, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
    )
    try:
        lake.load_extensions(con, settings)
        if lake._data_path(settings).startswith("s3://"):
            lake._s3_secret(con)
        catalog = lake._quoted(f"ducklake:{settings.lake_catalog}")
        data_path = lake._quoted(lake._data_path(settings))
        con.execute(
            f"attach '{catalog}' as {lake.LAKE} "
            f"(read_only, snapshot_version {int(snapshot)}, data_path '{data_path}')"
        )
        models.create_schemas(con)
        for name in _loaded_tables(settings.sql_dir):
            con.execute(f"create view {name} as select * from {lake.LAKE}.{name}")
        _create_ddl_views(con, settings.sql_dir)
        con.execute("set variable as_of = ?", [as_of])
        models.build_models(
            con, settings.sql_dir, settings.seeds_dir, layers=("staging", "core", "marts", "meta")
        )
        # The registry small enough to keep; core's facts stay in the lake.
        for name in ("meta.releases", "meta.runs"):
            con.execute(f"create table {name}_copy as select * from {lake.LAKE}.{name}")
            con.execute(f"drop view {name}")
            con.execute(f"alter table {name}_copy rename to {name.split('.')[1]}")
        con.execute(f"detach {lake.LAKE}")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(partial, target)
    return target, snapshot


def _create_ddl_views(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    """The views among the DDL models (meta.release_vintages), over the bridged tables."""
    from customs_etl.load import models

    for model in models.ordered([m for m in models.discover_models(sql_dir) if m.is_ddl]):
        if _statement(model.sql).startswith("create or replace view"):
            con.execute(model.sql)
