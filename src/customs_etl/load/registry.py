"""The release registry (meta.releases, meta.runs): which release files were loaded or rejected,
their months and vintages, and what the runs did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from customs_etl.load.connection import connect

# Not imported here: a run that finds nothing new reads the registry (loaded_release_ids) and
# needs neither polars nor the parsers; the functions that write it import polars themselves.
if TYPE_CHECKING:
    import polars as pl

    from customs_etl.transform.parse import ParsedRelease


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


def published_months(published: Path) -> set[str]:
    """The months (YYYY-MM) of the releases loaded into the published warehouse."""
    if not published.exists():
        return set()
    con = connect(published, read_only=True)
    try:
        rows = con.execute(
            "select distinct strftime(period, '%Y-%m') from meta.releases "
            "where status = 'loaded' and period is not null"
        ).fetchall()
    except duckdb.CatalogException:  # a warehouse without a registry yet
        return set()
    finally:
        con.close()
    return {row[0] for row in rows}


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


def record_release(con: duckdb.DuckDBPyConnection, record: ReleaseRecord) -> None:
    """Upsert a registry row, keeping the first time these bytes were received."""
    record_releases(con, [record])


# The rows to write; the upsert is delete + insert (DuckLake has no primary keys, so no
# `insert or replace`).
_RECORD_RELEASES = """
select
    new.release_id, new.source_name, new.kind, new.flow, new.period, new.currency,
    new.hs_level, new.dialect, new.encoding, new.size_bytes, new.row_count, new.value_total,
    new.status, new.error, coalesce(known.received_at, $now) as received_at,
    case when new.status = 'loaded' then $now end as loaded_at,
    coalesce(new.slot_name, new.source_name) as slot_name, new.published_on, new.months_covered
from new_records as new
left join meta.releases as known using (release_id)
"""


def _record_schema() -> dict[str, type[pl.DataType]]:
    import polars as pl

    return {
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
    import polars as pl

    new_records = pl.DataFrame([vars(r) for r in records], schema=_record_schema(), orient="row")
    con.register("new_records", new_records)
    try:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows = con.execute(_RECORD_RELEASES, {"now": now}).pl()
    finally:
        con.unregister("new_records")
    con.execute(
        "delete from meta.releases where list_contains(?, release_id)",
        [new_records["release_id"].to_list()],
    )
    con.register("release_rows", rows)
    try:
        con.execute("insert into meta.releases by name select * from release_rows")
    finally:
        con.unregister("release_rows")


_PRELIMINARY_NEIGHBOURS = """
select
    preliminary.partner_key as key,
    preliminary.flow,
    preliminary.period,
    preliminary.value_ytd
from core.trade_preliminary as preliminary
inner join meta.release_vintages as releases using (release_id)
where releases.status = 'loaded'
  and preliminary.currency = $currency
  and preliminary.period in ($previous, $next)
qualify row_number() over (
    partition by key, preliminary.flow, preliminary.period
    order by releases.vintage_key desc
) = 1
"""


def preliminary_neighbours(
    con: duckdb.DuckDBPyConnection, period: dt.date, currency: str
) -> pl.DataFrame:
    """The latest loaded January-to-month figures of the months before and after `period`,
    for the preliminary-table checks (key: the rows' partner_key)."""
    parameters = {
        "currency": currency,
        "previous": (period.replace(day=1) - dt.timedelta(days=1)).replace(day=1),
        "next": (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1),
    }
    return con.execute(_PRELIMINARY_NEIGHBOURS, parameters).pl()


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
from core.trade_preliminary
order by 1
"""


def core_months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Every month with rows in core (each month of a January-February table)."""
    return [month for (month,) in con.execute(_CORE_MONTHS).fetchall()]


def record_run(con: duckdb.DuckDBPyConnection, run: dict[str, object]) -> None:
    columns = ", ".join(run)
    placeholders = ", ".join("?" for _ in run)
    con.execute(f"insert into meta.runs ({columns}) values ({placeholders})", list(run.values()))


def loaded_source_names(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime]:
    """source_name -> when its latest loaded vintage was received (UTC, to the microsecond:
    a fixed file may load within the second its earlier version was refused)."""
    rows = con.execute(
        "select source_name, max(received_at) from meta.releases "
        "where status = 'loaded' group by source_name"
    ).fetchall()
    return dict(rows)


def rejected_record(
    release_id: str,
    source_name: str,
    size_bytes: int,
    error: str,
    flow: str | None = None,
    kind: str = "detailed_export",
) -> ReleaseRecord:
    return ReleaseRecord(
        release_id=release_id,
        source_name=source_name,
        kind=kind,
        size_bytes=size_bytes,
        status="rejected",
        flow=flow,
        error=error,
    )


def loaded_record(parsed: ParsedRelease) -> ReleaseRecord:
    """The registry's row for a parsed release about to be loaded."""
    release = parsed.release
    return ReleaseRecord(
        release_id=release.release_id,
        source_name=release.source_name,
        kind=release.kind,
        size_bytes=release.size_bytes,
        status="loaded",
        flow=release.flow,
        period=dt.date.fromisoformat(parsed.period),
        currency=parsed.currency,
        hs_level=parsed.hs_level,
        dialect=parsed.dialect,
        encoding=parsed.encoding,
        row_count=parsed.row_count,
        value_total=parsed.value_total,
        slot_name=release.slot_name,
        published_on=release.published_on,
        months_covered=parsed.months_covered,
    )
