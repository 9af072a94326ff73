"""Loading parsed releases into core: every vintage kept, a release whole or not at all, and the
grain rules (no row delivered twice by the current files of a month)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import one_per_release
from customs_etl.load import lake
from customs_etl.load.commodity_names import replace_names
from customs_etl.load.registry import ReleaseRecord, record_release, record_releases
from customs_etl.transform.canonical import PARSE_ONLY_COLUMNS

# Where each kind of release is loaded; staged columns the core does not keep (names come
# from the seeds at query time) are left out.
CORE_TABLES = {
    "detailed_export": "core.trade_detailed",
    "preliminary_table": "core.trade_preliminary",
}


# The parsed columns core.trade_detailed does not keep (commodity names go to
# core.commodity_names, once per code).
_CORE_COLUMNS = f"columns(c -> c not in {tuple(PARSE_ONLY_COLUMNS)})"


class _DeliveredTwice(Exception):
    """Some row of a month's releases is delivered by two downloads (see _load_together)."""


@contextlib.contextmanager
def _transaction(
    con: duckdb.DuckDBPyConnection, undo: tuple[str, list[str]] | None = None
) -> Iterator[None]:
    """A unit of work. On the lake, a run is one transaction already and DuckDB has no
    savepoints: a release refused inside it has its rows (`undo`: table, release ids) taken
    out again instead; any other error aborts the run's transaction whole."""
    if getattr(con, "in_run_transaction", False):
        try:
            yield
        except (ReleaseError, _DeliveredTwice):
            if undo:
                lake.undo_refused(con, *undo)
            raise
        return
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def load_release(con: duckdb.DuckDBPyConnection, staged: Path, record: ReleaseRecord) -> int:
    """Replace a release's rows as a unit, in one transaction with its registry entry.

    Detailed rows that another current release already delivered (the same grain in a
    different file) would be counted twice: the release is refused and nothing of it stays.
    Preliminary tables overlap by design (each vintage restates its months)."""
    table = CORE_TABLES[record.kind]
    with _transaction(con, undo=(table, [record.release_id])):
        con.execute(f"delete from {table} where release_id = ?", [record.release_id])
        con.execute(
            f"insert into {table} by name select {_CORE_COLUMNS} from read_parquet(?)",
            [str(staged)],
        )
        if record.kind == "detailed_export":
            _refuse_duplicated_grain(con, record)
            replace_names(con, [(staged, record)])
        record_release(con, record)
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
    for staged, record in one_per_release(releases, lambda one: one[1].release_id):
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
    try:
        with _transaction(con, undo=("core.trade_detailed", ids)):
            _load_group(con, group, records, ids)
    except _DeliveredTwice:
        return False
    return True


def _load_group(
    con: duckdb.DuckDBPyConnection,
    group: list[tuple[Path, ReleaseRecord]],
    records: list[ReleaseRecord],
    ids: list[str],
) -> None:
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
        f"insert into core.trade_detailed by name select {_CORE_COLUMNS} from read_parquet($paths)",
        {"paths": [str(staged) for staged, _ in group]},
    )
    if _grain_delivered_twice(con, records):
        raise _DeliveredTwice
    replace_names(con, group)
    record_releases(con, records)


# The latest vintage of every download already loaded for a month and flow, other than the
# releases being loaded (ranked as core.releases_in_view ranks them): the rows a new release
# must not repeat.
_LATEST_LOADED_DOWNLOADS = """
select release_id, source_name, slot
from meta.release_vintages
where status = 'loaded' and kind = 'detailed_export' and flow = $flow and period = $period
  and not list_contains($ids, release_id)
qualify row_number() over (partition by slot order by vintage_key desc) = 1
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
