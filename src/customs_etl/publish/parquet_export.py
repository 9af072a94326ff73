"""The marts as files (Parquet), for tools that read files."""

from __future__ import annotations

from pathlib import Path

import duckdb


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
