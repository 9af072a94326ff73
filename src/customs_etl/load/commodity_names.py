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
    A staged file from before names were staged has none to give."""
    ids = [record.release_id for _, record in releases]
    con.execute("delete from core.commodity_names where list_contains(?, release_id)", [ids])
    for staged, record in releases:
        if not _has_names(con, staged):
            continue
        con.execute(
            f"""
            insert into core.commodity_names
            select ?, hs_code, any_value(hs_level), ?, min(trim({NAME_COLUMN}))
            from read_parquet(?)
            where nullif(trim({NAME_COLUMN}), '') is not null
            group by hs_code
            """,
            [record.release_id, language(record.dialect), str(staged)],
        )


def _has_names(con: duckdb.DuckDBPyConnection, staged: Path) -> bool:
    found = con.execute(
        "select count(*) from parquet_schema(?) where name = ?", [str(staged), NAME_COLUMN]
    ).fetchone()
    return bool(found and found[0])
