"""The marts as files (Parquet), for tools that read files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from customs_etl.guard import written_whole


def export_marts(
    published: Path, directory: Path, check: Callable[[Path], object] | None = None
) -> list[Path]:
    """One Parquet file per mart table, from a read-only connection of our own. Each file is
    written beside its name and renamed into place (`check` vets each name first)."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        return write_marts(con, directory, check)
    finally:
        con.close()


def write_marts(
    con: duckdb.DuckDBPyConnection, directory: Path, check: Callable[[Path], object] | None
) -> list[Path]:
    """The marts of the database `con` has in use, one Parquet file each."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'marts' "
        "order by table_name"
    ).fetchall()
    targets = [directory / f"{table}.parquet" for (table,) in tables]
    for target in targets if check else ():
        check(target)  # type: ignore[misc]
    for (table,), target in zip(tables, targets, strict=True):
        with written_whole(target) as partial:
            con.execute(f"copy marts.{table} to '{_quoted(partial)}' (format parquet)")
    return targets


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
