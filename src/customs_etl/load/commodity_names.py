"""The commodity names a detailed export prints, kept in core.commodity_names when it loads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from customs_etl.load.registry import ReleaseRecord

NAME_COLUMN = "commodity_name_source"


def language(dialect: str | None) -> str:
    """'zh' for an export of the Chinese platform, else 'en'."""
    return "zh" if dialect and "zh" in dialect else "en"


def replace_names(
    con: duckdb.DuckDBPyConnection, releases: list[tuple[Path, ReleaseRecord]]
) -> None:
    """Within the caller's transaction: the releases' names replace any kept for them before.
    A staged file from before names were staged has none to give.

    One statement for all the releases (a month and flow's files at a time): a statement per
    file read each file's schema and rows in a query of its own, 1,503 of them at the
    benchmark's full scale (about half of the load stage)."""
    ids = [record.release_id for _, record in releases]
    con.execute("delete from core.commodity_names where list_contains(?, release_id)", [ids])
    named = _with_names(con, [str(staged) for staged, _ in releases])
    kept = [(str(staged), record) for staged, record in releases if str(staged) in named]
    if not kept:
        return
    con.execute(
        f"""
        insert into core.commodity_names
        select releases.release_id, staged.hs_code, any_value(staged.hs_level),
               any_value(releases.language), min(trim(staged.{NAME_COLUMN}))
        from read_parquet($paths, filename = '_staged_path') as staged
        inner join (
            select unnest($paths) as path, unnest($ids) as release_id,
                   unnest($languages) as language
        ) as releases
            on releases.path = staged._staged_path
        where nullif(trim(staged.{NAME_COLUMN}), '') is not null
        group by releases.release_id, staged.hs_code
        """,
        {
            "paths": [path for path, _ in kept],
            "ids": [record.release_id for _, record in kept],
            "languages": [language(record.dialect) for _, record in kept],
        },
    )


def _with_names(con: duckdb.DuckDBPyConnection, paths: list[str]) -> set[str]:
    """The staged files (of `paths`) that have the names column."""
    found = con.execute(
        "select distinct file_name from parquet_schema(?) where name = ?", [paths, NAME_COLUMN]
    ).fetchall()
    return {path for (path,) in found}
