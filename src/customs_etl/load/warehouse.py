"""The warehouse storage, behind one small module.

The job never writes the published file in place: it copies it to a private build database
next to it, loads and rebuilds there, checkpoints and checks the result, and publishes it with
an atomic rename. Readers holding the old file keep a consistent snapshot; new connections see
the new one. The embedded default is a DuckDB file; DuckLake would slot in behind `connect`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from customs_etl.errors import ReleaseError
from customs_etl.load import models

# Checked on the build database before it may replace the published one.
PUBLICATION_CHECKS = ("marts.trade_monthly", "marts.trade_half_year", "meta.releases")


# Where each kind of release is loaded; staged columns the core does not keep (names come
# from the seeds at query time) are left out.
CORE_TABLES = {"detailed_export": "core.trade_detailed", "preliminary_table": "core.trade_headline"}
_CORE_COLUMNS = "columns(c -> c not in ('partner_iso3', 'partner_name'))"


class RunInProgressError(RuntimeError):
    """Another run holds the warehouse lock."""


@dataclass(frozen=True)
class ReleaseRecord:
    """What the registry keeps about a release file (see sql/meta/releases.sql)."""

    release_id: str
    source_name: str
    kind: str
    size_bytes: int
    status: str
    flow: str | None = None
    period: dt.date | None = None
    currency: str | None = None
    hs_level: int | None = None
    dialect: str | None = None
    encoding: str | None = None
    row_count: int | None = None
    value_total: int | None = None
    error: str | None = None
    slot_name: str | None = None
    published_on: dt.date | None = None
    months_covered: int | None = None


def connect(
    path: Path, *, read_only: bool = False, threads: int = 2, memory_limit: str = "500MB"
) -> duckdb.DuckDBPyConnection:
    # Insertion order is not a promise of any table here; keeping it costs memory in big builds.
    config: dict[str, str | bool | int] = {
        "threads": threads,
        "memory_limit": memory_limit,
        "preserve_insertion_order": False,
    }
    if read_only:
        # Ad-hoc SQL may read the marts and nothing else: no files, no extensions, no ATTACH.
        config |= {"enable_external_access": False, "lock_configuration": True}
    return duckdb.connect(str(path), read_only=read_only, config=config)


def build_path_for(published: Path) -> Path:
    """The private build database: beside the published file, so the rename is atomic."""
    return published.with_name(f".{published.name}.build")


@contextlib.contextmanager
def run_lock(published: Path) -> Iterator[None]:
    """One run at a time per warehouse. flock dies with its process, so no stale lock remains."""
    published.parent.mkdir(parents=True, exist_ok=True)
    lock_path = published.with_name(f".{published.name}.lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RunInProgressError(
                f"another run is in progress on {published} (lock {lock_path})"
            ) from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def loaded_release_ids(published: Path) -> set[str]:
    """Checksums already loaded into the published warehouse (empty if there is none yet)."""
    if not published.exists():
        return set()
    con = connect(published, read_only=True)
    try:
        has_registry = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'meta' and table_name = 'releases'"
        ).fetchone()
        if not has_registry or not has_registry[0]:
            return set()
        rows = con.execute("select release_id from meta.releases where status = 'loaded'")
        return {row[0] for row in rows.fetchall()}
    finally:
        con.close()


def start_build(published: Path) -> Path:
    """A fresh private copy of the published warehouse (or an empty one) to work in."""
    build = build_path_for(published)
    for leftover in (build, build.with_name(build.name + ".wal")):
        leftover.unlink(missing_ok=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    if published.exists():
        shutil.copy2(published, build)
    return build


def prepare_schema(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    models.apply_ddl(con, sql_dir)


def record_release(con: duckdb.DuckDBPyConnection, record: ReleaseRecord) -> None:
    """Upsert a registry row, keeping the first time these bytes were received."""
    record_releases(con, [record])


_RECORD_RELEASES = """
insert or replace into meta.releases (
    release_id, source_name, kind, flow, period, currency, hs_level, dialect, encoding,
    size_bytes, row_count, value_total, status, error, received_at, loaded_at,
    slot_name, published_on, months_covered
)
select
    new.release_id, new.source_name, new.kind, new.flow, new.period, new.currency,
    new.hs_level, new.dialect, new.encoding, new.size_bytes, new.row_count, new.value_total,
    new.status, new.error, coalesce(known.received_at, $now),
    case when new.status = 'loaded' then $now end,
    coalesce(new.slot_name, new.source_name), new.published_on, new.months_covered
from new_records as new
left join meta.releases as known using (release_id)
"""
_RECORD_SCHEMA = {
    "release_id": pl.String,
    "source_name": pl.String,
    "kind": pl.String,
    "size_bytes": pl.Int64,
    "status": pl.String,
    "flow": pl.String,
    "period": pl.Date,
    "currency": pl.String,
    "hs_level": pl.Int32,
    "dialect": pl.String,
    "encoding": pl.String,
    "row_count": pl.Int64,
    "value_total": pl.Int64,
    "error": pl.String,
    "slot_name": pl.String,
    "published_on": pl.Date,
    "months_covered": pl.Int8,
}


def record_releases(con: duckdb.DuckDBPyConnection, records: list[ReleaseRecord]) -> None:
    """Upsert registry rows in one statement (a backfill records thousands)."""
    new_records = pl.DataFrame([vars(r) for r in records], schema=_RECORD_SCHEMA, orient="row")
    con.register("new_records", new_records)
    try:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.execute(_RECORD_RELEASES, {"now": now})
    finally:
        con.unregister("new_records")


def load_release(con: duckdb.DuckDBPyConnection, staged: Path, record: ReleaseRecord) -> int:
    """Replace a release's rows as a unit, in one transaction with its registry entry.

    Detailed rows that another current release already delivered (the same grain in a
    different file) would be counted twice: the release is refused and nothing of it stays.
    Preliminary tables overlap by design (each vintage restates its months)."""
    table = CORE_TABLES[record.kind]
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {table} where release_id = ?", [record.release_id])
        con.execute(
            f"insert into {table} by name select {_CORE_COLUMNS} from read_parquet(?)",
            [str(staged)],
        )
        if record.kind == "detailed_export":
            _refuse_duplicated_grain(con, record)
        record_release(con, record)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return record.row_count or 0


def load_releases(
    con: duckdb.DuckDBPyConnection, releases: list[tuple[Path, ReleaseRecord]]
) -> dict[str, int | ReleaseError]:
    """Load staged releases (in the order given, which decides who delivered a row first):
    rows loaded per release id, or why a release was refused.

    Detailed exports of one month and flow go in together: one transaction, one insert of all
    their files and one duplicate-grain check. Only when that check finds rows delivered twice
    are they loaded again one at a time, so that exactly the repeating release is refused."""
    outcomes: dict[str, int | ReleaseError] = {}
    for group in _month_groups(releases):
        if group[0][1].kind == "detailed_export" and _load_together(con, group):
            outcomes |= {record.release_id: record.row_count or 0 for _, record in group}
            continue
        for staged, record in group:
            try:
                outcomes[record.release_id] = load_release(con, staged, record)
            except ReleaseError as error:
                outcomes[record.release_id] = error
    return outcomes


def _month_groups(
    releases: list[tuple[Path, ReleaseRecord]],
) -> list[list[tuple[Path, ReleaseRecord]]]:
    """Detailed exports by flow and month (rows can only clash within one); others alone."""
    groups: dict[object, list[tuple[Path, ReleaseRecord]]] = {}
    seen: set[str] = set()
    for staged, record in releases:
        if record.release_id in seen:  # the same bytes twice load once
            continue
        seen.add(record.release_id)
        key = (
            (record.flow, record.period)
            if record.kind == "detailed_export"
            else ("alone", record.release_id)
        )
        groups.setdefault(key, []).append((staged, record))
    return list(groups.values())


def _load_together(con: duckdb.DuckDBPyConnection, group: list[tuple[Path, ReleaseRecord]]) -> bool:
    """All of a month and flow's releases in one transaction; False (nothing kept) when some
    row is delivered by two downloads."""
    records = [record for _, record in group]
    ids = [record.release_id for record in records]
    con.execute("begin transaction")
    try:
        reloaded = con.execute(
            "select release_id from meta.releases "
            "where status = 'loaded' and list_contains($ids, release_id)",
            {"ids": ids},
        ).fetchall()
        if reloaded:
            con.execute(
                "delete from core.trade_detailed where list_contains($ids, release_id)",
                {"ids": [release_id for (release_id,) in reloaded]},
            )
        con.execute(
            f"insert into core.trade_detailed by name select {_CORE_COLUMNS} "
            "from read_parquet($paths)",
            {"paths": [str(staged) for staged, _ in group]},
        )
        if _grain_delivered_twice(con, records):
            con.execute("rollback")
            return False
        record_releases(con, records)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return True


# The latest vintage of every download already loaded for a month and flow, other than the
# releases being loaded (ranked as core.releases_in_view ranks them): the rows a new release
# must not repeat.
_LATEST_LOADED_DOWNLOADS = """
select release_id, source_name, coalesce(slot_name, source_name) as slot
from meta.releases
where status = 'loaded' and kind = 'detailed_export' and flow = $flow and period = $period
  and not list_contains($ids, release_id)
qualify row_number() over (
    partition by coalesce(slot_name, source_name)
    order by coalesce(published_on, cast(received_at as date)) desc,
             received_at desc, release_id desc
) = 1
"""

_DELIVERED_TWICE = f"""
with downloads as (
    select release_id, slot from ({_LATEST_LOADED_DOWNLOADS})
    union all
    -- and every one being loaded, whatever its vintage
    select unnest($ids) as release_id, unnest($slots) as slot
)
select 1
from core.trade_detailed as trade
inner join downloads using (release_id)
where trade.period = $period and trade.flow = $flow
group by trade.partner_code, trade.hs_code, trade.currency, trade.customs_regime_code,
         trade.registration_place_code
having min(downloads.slot) <> max(downloads.slot)
limit 1
"""


def _grain_delivered_twice(con: duckdb.DuckDBPyConnection, records: list[ReleaseRecord]) -> bool:
    parameters = {
        "flow": records[0].flow,
        "period": records[0].period,
        "ids": [record.release_id for record in records],
        "slots": [record.slot_name or record.source_name for record in records],
    }
    return con.execute(_DELIVERED_TWICE, parameters).fetchone() is not None


_DUPLICATED_GRAIN = f"""
with current_others as (
    -- the latest vintage of every other download of the month and flow
    select release_id, source_name
    from ({_LATEST_LOADED_DOWNLOADS})
    where slot <> $slot_name
)
select other.source_name, count(*) as rows, min(new.source_row) as first_row
from core.trade_detailed as new
inner join (
    -- Only the release's own month and flow can clash: keeps the check from growing with
    -- the history (it was quadratic over a backfill).
    select * from core.trade_detailed where period = $period and flow = $flow
) as old
    on old.period = new.period and old.flow = new.flow and old.partner_code = new.partner_code
   and old.hs_code = new.hs_code and old.currency = new.currency
   and old.customs_regime_code is not distinct from new.customs_regime_code
   and old.registration_place_code is not distinct from new.registration_place_code
inner join current_others as other on other.release_id = old.release_id
where new.release_id = $release_id
group by other.source_name
order by rows desc
limit 1
"""


def _refuse_duplicated_grain(con: duckdb.DuckDBPyConnection, record: ReleaseRecord) -> None:
    parameters = {
        "release_id": record.release_id,
        "ids": [record.release_id],
        "slot_name": record.slot_name or record.source_name,
        "period": record.period,
        "flow": record.flow,
    }
    clash = con.execute(_DUPLICATED_GRAIN, parameters).fetchone()
    if clash:
        other, rows, first_row = clash
        raise ReleaseError(
            record.source_name,
            f"{rows} row(s) repeat rows already delivered by {other} "
            "(same month, flow, partner, commodity, regime and place); adding both would count "
            "them twice",
            row=first_row,
            expected="each row of a month in one file only (a revision keeps the file's name)",
        )


_HEADLINE_NEIGHBOURS = """
select
    lower(regexp_replace(lower(headline.partner_label), '[^0-9a-z]', '', 'g')) as key,
    headline.flow,
    headline.period,
    headline.value_ytd
from core.trade_headline as headline
inner join meta.releases as releases using (release_id)
where releases.status = 'loaded'
  and headline.currency = $currency
  and headline.period in ($previous, $next)
qualify row_number() over (
    partition by key, headline.flow, headline.period
    order by coalesce(releases.published_on, cast(releases.received_at as date)) desc,
             releases.received_at desc, headline.release_id desc
) = 1
"""


def headline_neighbours(
    con: duckdb.DuckDBPyConnection, period: dt.date, currency: str
) -> pl.DataFrame:
    """The latest loaded January-to-month figures of the months before and after `period`,
    for the preliminary-table checks (key as transform.label_key makes it)."""
    parameters = {
        "currency": currency,
        "previous": (period.replace(day=1) - dt.timedelta(days=1)).replace(day=1),
        "next": (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1),
    }
    return con.execute(_HEADLINE_NEIGHBOURS, parameters).pl()


_TOUCHED_PERIODS = """
with run_slots as (
    select distinct kind, flow, coalesce(slot_name, source_name) as slot
    from meta.releases
    where status = 'loaded' and list_contains($source_names, source_name)
)
select distinct cast(releases.period - to_months(covered.months_back) as date) as month
from meta.releases as releases
inner join run_slots
    on run_slots.kind = releases.kind
   and run_slots.flow is not distinct from releases.flow
   and run_slots.slot = coalesce(releases.slot_name, releases.source_name)
cross join unnest(range(coalesce(releases.months_covered, 1))) as covered(months_back)
where releases.status = 'loaded'
order by month
"""


def touched_periods(con: duckdb.DuckDBPyConnection, source_names: list[str]) -> list[dt.date]:
    """The months whose marts rows the releases loaded under these names may have changed: the
    months each covers (two for a January-February table) and those of every other vintage of
    the same download, since a new vintage replaces the old one's rows wherever they were."""
    rows = con.execute(_TOUCHED_PERIODS, {"source_names": source_names}).fetchall()
    return [month for (month,) in rows]


_CORE_MONTHS = """
select period from core.trade_detailed
union
select cast(unnest(generate_series(period_start, period, interval 1 month)) as date)
from core.trade_headline
order by 1
"""


def core_months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Every month with rows in core (each month of a January-February table)."""
    return [month for (month,) in con.execute(_CORE_MONTHS).fetchall()]


def build_models(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    seeds_dir: Path,
    layers: tuple[str, ...] = models.LAYERS,
    touched_periods: list[dt.date] | None = None,
    chunk_months: int | None = models.CHUNK_MONTHS,
) -> list[str]:
    """Rebuild staging (seeds), core views and marts in one transaction. With the months a run
    touched, incremental marts rebuild only those; None rebuilds everything in full. A full
    build of an incremental mart runs `chunk_months` months at a time (None: one statement),
    so that its memory does not grow with the history."""
    variables = {"seeds_dir": str(seeds_dir.resolve())}
    con.execute("begin transaction")
    try:
        every_month = None if chunk_months is None else core_months(con)
        built = models.build(
            con,
            sql_dir,
            variables,
            layers,
            touched_periods,
            all_periods=every_month,
            chunk_months=chunk_months or models.CHUNK_MONTHS,
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return built


def as_of_path(published: Path, as_of: dt.date) -> Path:
    return published.parent / "as_of" / f"{published.stem}-{as_of.isoformat()}.duckdb"


def build_as_of(
    published: Path, as_of: dt.date, sql_dir: Path, seeds_dir: Path, target: Path | None = None
) -> Path:
    """A copy of the published warehouse whose marts use only the releases known by `as_of`
    (published by then, or received by then where the publication date is unknown). The
    published file is only read; core keeps every vintage, so nothing needs reloading, but
    core's aggregates of the current figures (`core.commodity_monthly`, ...) are rebuilt."""
    target = target or as_of_path(published, as_of)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    shutil.copy2(published, partial)
    con = connect(partial)
    try:
        con.execute("set variable as_of = ?", [as_of])
        build_models(con, sql_dir, seeds_dir, layers=("core", "marts", "meta"))
        # These marts are not the marts of this file's core: nothing may build on them by unit.
        models.forget_builds(con)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(partial, target)
    return target


def record_run(con: duckdb.DuckDBPyConnection, run: dict[str, object]) -> None:
    columns = ", ".join(run)
    placeholders = ", ".join("?" for _ in run)
    con.execute(f"insert into meta.runs ({columns}) values ({placeholders})", list(run.values()))


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


def describe(con: duckdb.DuckDBPyConnection) -> str:
    """Data as of: the latest month per flow, the releases behind it and the last run."""
    months = con.execute(
        "select flow, strftime(max(period_end), '%Y-%m') from marts.trade_monthly "
        "where flow <> 'total' group by flow order by flow"
    ).fetchall()
    [(count, received, finished)] = con.execute(
        "select count(*), strftime(max(received_at), '%Y-%m-%d %H:%M'), "
        "(select strftime(max(finished_at), '%Y-%m-%d %H:%M') from meta.runs) "
        "from meta.releases where status = 'loaded'"
    ).fetchall()
    latest = ", ".join(f"{flow} {month}" for flow, month in months) or "no data"
    return (
        f"Data as of: {latest}; {count} release file(s) loaded, the latest received "
        f"{received} UTC; last run finished {finished} UTC."
    )


def loaded_source_names(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime]:
    """source_name -> when its latest loaded vintage was received (UTC, to the microsecond:
    a fixed file may load within the second its earlier version was refused)."""
    rows = con.execute(
        "select source_name, max(received_at) from meta.releases "
        "where status = 'loaded' group by source_name"
    ).fetchall()
    return dict(rows)


def export_marts(published: Path, directory: Path) -> list[Path]:
    """One Parquet file per mart table, from a read-only connection of our own."""
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by table_name"
        ).fetchall()
        written = []
        for (table,) in tables:
            target = directory / f"{table}.parquet"
            con.execute(f"copy marts.{table} to '{_quoted(target)}' (format parquet)")
            written.append(target)
    finally:
        con.close()
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
