"""A copy of the warehouse whose marts show what was known on a given day."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from customs_etl.load import models
from customs_etl.load.connection import connect


def as_of_path(published: Path, as_of: dt.date) -> Path:
    return published.parent / "as_of" / f"{published.stem}-{as_of.isoformat()}.duckdb"


def build_as_of(
    published: Path, as_of: dt.date, sql_dir: Path, seeds_dir: Path, target: Path | None = None
) -> Path:
    """A copy of the published warehouse whose marts use only the releases known by `as_of`
    (published by then, or received by then where the publication date is unknown). The
    published file is only read; core keeps every vintage, so nothing needs reloading, but
    core's aggregates of the current figures (`core.commodity_monthly`, ...) are rebuilt."""
    from customs_etl.guard import written_whole

    target = target or as_of_path(published, as_of)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its name and renamed into place; removed (with its WAL) on any failure.
    with written_whole(target) as partial:
        try:
            shutil.copy2(published, partial)
            con = connect(partial)
            try:
                # A warehouse published by an earlier version is brought to this version's DDL.
                models.prepare_schema(con, sql_dir)
                con.execute("set variable as_of = ?", [as_of])
                models.build_models(con, sql_dir, seeds_dir, layers=("core", "marts", "meta"))
                # These marts are not the marts of this file's core: nothing may build on them.
                models.forget_builds(con)
                con.execute("checkpoint")
            finally:
                con.close()
        finally:
            partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    return target
