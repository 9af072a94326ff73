"""The spare version: the build database of a run without copying the published file.

Copying the published file for each run costs its whole size (421 MB at ten years of
generated national data, about 5 GB at real national scale) whatever the month adds. Instead,
the version file that the last publication replaced is kept aside as the spare (earlier
versions are release sets, publish/versions.py, so the spare lags one run). The next run
renames it to its build and brings it up to the published version's state, reading only what
differs:

- the rows of the releases one has and the other lacks, in the tables loaded by release
  (core.trade_detailed, core.trade_preliminary, core.commodity_names);
- the rows of the units (months, halves, years) those releases touch, in every incremental
  model, copied from the published version as it stands (the same units a run that loaded
  them would have rebuilt, so the same rows);
- the small tables whole: meta's tables and the other table models (code lists, partners).

It is only done when both files were built by the same models (the same checksums in
meta.models: SQL, upstream SQL and seeds) and hold the same tables with the same columns;
otherwise, or when another process (or this one) still has the spare open, the run copies
the published file as before. After catching up, every table of the build equals the
published version's; the run then loads and rebuilds as it would in a copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from customs_etl.load import models, registry
from customs_etl.load.connection import connect, literal

log = logging.getLogger(__name__)

PUBLISHED = "published"  # the published version, attached read-only while catching up
LOADED = "select release_id from {db}.meta.releases where status = 'loaded'"


@dataclass(frozen=True)
class CaughtUp:
    """What catching up read: releases added and removed, and the months they touched."""

    added: int
    removed: int
    months: int


def held_by_this_process(path: Path) -> bool:
    """Whether a descriptor of this process is open on the file (a DuckDB reader here would
    not stop a writer: file locks are per process, so DuckDB's own check misses it)."""
    try:
        wanted = path.stat()
    except FileNotFoundError:
        return False
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return True  # cannot tell: do not reuse
    for fd in fds.iterdir():
        try:
            found = os.stat(fd)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (wanted.st_dev, wanted.st_ino):
            return True
    return False


def catch_up(build: Path, published: Path, sql_dir: Path, max_lag: float = 1.0) -> CaughtUp | None:
    """Bring `build` (the renamed spare) to the state of `published`, in one transaction.
    None when it cannot be done (other models, other tables, the file held open) or costs
    more than a copy (the releases to catch up hold more than `max_lag` of the published
    rows): the caller copies instead."""
    if held_by_this_process(build):
        return None
    try:
        con = connect(build)
    except duckdb.IOException as error:  # held by another process (a BI reader), or no database
        log.info("The spare version cannot be opened for writing (%s).", error)
        return None
    try:
        con.execute(f"attach {literal(str(published))} as {PUBLISHED} (read_only)")
        if not _same_models(con) or not _same_tables(con):
            return None
        here = _identifier(_current_database(con))
        added = _ids(con, f"{LOADED.format(db=PUBLISHED)} except {LOADED.format(db=here)}")
        removed = _ids(con, f"{LOADED.format(db=here)} except {LOADED.format(db=PUBLISHED)}")
        lag = _lag(con, added, removed)
        if lag > max_lag:
            log.info("The spare version lags %.1f%% of the published rows: copying.", 100 * lag)
            return None
        con.execute("begin transaction")
        caught_up = _catch_up(con, sql_dir, added, removed)
        con.execute("commit")
        return caught_up
    finally:
        con.close()


def _lag(con: duckdb.DuckDBPyConnection, added: list[str], removed: list[str]) -> float:
    """The rows of the releases to catch up, as a share of the published rows."""
    rows = "select coalesce(sum(row_count), 0) from {db}.meta.releases where status = 'loaded'"
    published = con.execute(rows.format(db=PUBLISHED)).fetchone()[0]  # type: ignore[index]
    if not added and not removed:
        return 0.0
    differing = sum(
        con.execute(f"{rows.format(db=db)} and release_id in ({_list(ids)})").fetchone()[0]  # type: ignore[index]
        for db, ids in ((PUBLISHED, added), (_identifier(_current_database(con)), removed))
        if ids
    )
    return differing / published if published else 1.0


def _catch_up(
    con: duckdb.DuckDBPyConnection, sql_dir: Path, added: list[str], removed: list[str]
) -> CaughtUp:
    # The months the removed releases touched, from this file's registry before it is replaced.
    months = set(registry.touched_periods(con, _names(con, removed)))
    by_release, incremental, whole = tables_by_kind(con, sql_dir)
    for table in whole:
        _copy_whole(con, table)  # meta.releases among them: the added releases are known now
    months |= set(registry.touched_periods(con, _names(con, added)))
    for table in by_release:
        _copy_releases(con, table, added, removed, sorted(months))
    for model in incremental:
        _copy_units(con, model, sorted(months))
    return CaughtUp(len(added), len(removed), len(months))


def _current_database(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("select current_database()").fetchone()[0])  # type: ignore[index]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ids(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [release_id for (release_id,) in con.execute(sql).fetchall()]


def _names(con: duckdb.DuckDBPyConnection, release_ids: list[str]) -> list[str]:
    if not release_ids:
        return []
    rows = con.execute(
        "select source_name from meta.releases where list_contains(?, release_id)",
        [release_ids],
    ).fetchall()
    return [name for (name,) in rows]


def _same_models(con: duckdb.DuckDBPyConnection) -> bool:
    """Both files' models were last built from the same SQL and seeds."""
    sql = "select model, checksum from {db}.meta.models order by 1"
    try:
        mine = con.execute(sql.format(db=_identifier(_current_database(con)))).fetchall()
        theirs = con.execute(sql.format(db=PUBLISHED)).fetchall()
    except duckdb.CatalogException:
        return False
    return bool(mine) and mine == theirs


def _same_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """The same tables with the same columns and types."""
    sql = (
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "join information_schema.tables using (table_catalog, table_schema, table_name) "
        "where table_catalog = ? and table_type = 'BASE TABLE' order by all"
    )
    here = _current_database(con)
    return con.execute(sql, [here]).fetchall() == con.execute(sql, [PUBLISHED]).fetchall()


def tables_by_kind(
    con: duckdb.DuckDBPyConnection, sql_dir: Path
) -> tuple[list[str], list[models.Model], list[str]]:
    """The base tables by how they are caught up: loaded by release, incremental models, and
    the rest, copied whole. Models that read no loaded table (the code lists' staging tables,
    `marts.partners`) are left as they are: with the same checksum, they hold the same rows."""
    rows = con.execute(
        "select table_schema || '.' || table_name as name, "
        "table_schema <> 'meta' and bool_or(column_name = 'release_id') "
        "from information_schema.columns join information_schema.tables "
        "using (table_catalog, table_schema, table_name) "
        "where table_catalog = current_database() and table_type = 'BASE TABLE' "
        "group by table_schema, table_name order by name"
    ).fetchall()
    every = models.discover_models(sql_dir)
    incremental = {m.name: m for m in every if m.incremental}
    graph = models.dependencies(every)
    loaded = {m.name for m in every if m.is_ddl}
    same = {m.name for m in every if not m.is_ddl and not models.upstream(m.name, graph) & loaded}
    by_release = [name for name, keyed in rows if keyed and name not in incremental]
    units = [incremental[name] for name, _ in rows if name in incremental]
    whole = [
        name for name, keyed in rows if not keyed and name not in incremental and name not in same
    ]
    return by_release, units, whole


def _copy_whole(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The published table's rows, unless the table holds them already: a table left
    unwritten is not rewritten by the commit's checkpoint (the names of 15,000 commodities,
    unchanged by most runs, took 0.4 s of it at 118 months of history)."""
    if _same_rows(con, table):
        return
    con.execute(f"delete from {table}")
    con.execute(f"insert into {table} by name select * from {PUBLISHED}.{table}")


def _same_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    columns = ", ".join(_identifier(column) for column in sorted(_columns(con, table)))
    here, there = f"select {columns} from {table}", f"select {columns} from {PUBLISHED}.{table}"
    differing = con.execute(
        f"select exists ({here} except all {there}) or exists ({there} except all {here})"
    ).fetchone()
    return differing is not None and not differing[0]


def _copy_releases(
    con: duckdb.DuckDBPyConnection,
    table: str,
    added: list[str],
    removed: list[str],
    months: list[dt.date],
) -> None:
    """The rows of the releases added, read from the published version; those removed,
    deleted. `release_id in (...)` rather than list_contains, and the months' range where the
    table has a `period`, so that DuckDB skips the row groups of other months (read in
    proportion to the runs, not the history)."""
    within = _range(con, table, months)
    if removed:
        con.execute(f"delete from {table} where release_id in ({_list(removed)}){within}")
    if added:
        con.execute(
            f"insert into {table} by name select * from {PUBLISHED}.{table} "
            f"where release_id in ({_list(added)}){within}"
        )


def _list(values: list[str]) -> str:
    return ", ".join(literal(value) for value in values)


def _range(con: duckdb.DuckDBPyConnection, table: str, months: list[dt.date]) -> str:
    """` and <column> between <first> and <last>` on the table's period (or year) column: a
    condition DuckDB checks against each row group's minimum and maximum, unlike
    list_contains. Empty when the table has neither column."""
    if not months:
        return ""
    columns = _columns(con, table)
    if "period" in columns:
        return f" and period between {literal(min(months))} and {literal(max(months))}"
    if "year" in columns:
        return f" and year between {min(months).year} and {max(months).year}"
    return ""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of `table` (schema.name) in the database the connection uses."""
    schema, name = table.split(".")
    return {
        column
        for (column,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? and table_catalog = current_database()",
            [schema, name],
        ).fetchall()
    }


def _copy_units(
    con: duckdb.DuckDBPyConnection, model: models.Model, touched: list[dt.date]
) -> None:
    """The model's rows of the units the releases touched, as the published version has them:
    the units a run that loaded those releases rebuilt (`and a year later` included)."""
    spec = model.incremental
    assert spec is not None
    months = spec.months(touched)
    if not months:
        return
    models.set_touched(con, months)
    rows = models.unit_predicate(con, model, spec) + _range(con, model.name, months)
    con.execute(f"delete from {model.name} where {rows}")
    con.execute(
        f"insert into {model.name} by name select * from {PUBLISHED}.{model.name} where {rows}"
    )
    con.execute("reset variable touched_periods")
