"""The two storage backends, for tests that run on either: where a test's warehouse is, how to
read it, and a digest of every mart to compare them."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from customs_etl import backend
from customs_etl.settings import Settings, get_settings

BACKENDS = ("embedded", "lake")


@dataclass(frozen=True)
class Where:
    """A test's warehouse: the embedded file, or a lake (SQLite catalog, local Parquet)."""

    backend: str
    settings: Settings

    @property
    def path(self) -> Path:
        return self.settings.warehouse_path

    def connect(self) -> duckdb.DuckDBPyConnection:
        return backend.open_reader(self.settings)

    def query(self, sql: str, *params: object) -> list[tuple]:
        con = self.connect()
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()


def use_backend(name: str, root: Path, patch: pytest.MonkeyPatch) -> Where:
    """Point the settings (the environment the flow reads) at a fresh warehouse under root."""
    root.mkdir(parents=True, exist_ok=True)
    patch.setenv("CUSTOMS_WORK_DIR", str(root / "work"))
    patch.setenv("CUSTOMS_WAREHOUSE_PATH", str(root / "warehouse" / "customs.duckdb"))
    if name == "lake":
        patch.setenv("CUSTOMS_LAKE_CATALOG", f"sqlite:{root / 'lake' / 'catalog.sqlite'}")
        patch.setenv("CUSTOMS_LAKE_DATA_PATH", str(root / "lake" / "data"))
        (root / "lake").mkdir(exist_ok=True)
    else:
        patch.delenv("CUSTOMS_LAKE_CATALOG", raising=False)
        patch.delenv("CUSTOMS_LAKE_DATA_PATH", raising=False)
    return Where(name, get_settings())


def mart_rows(where: Where, table: str) -> list[str]:
    """A mart's rows as sorted text, to show where two backends differ."""
    con = where.connect()
    try:
        return _rows(con, table)
    finally:
        con.close()


def marts_digest(where: Where) -> dict[str, tuple[int, str]]:
    """Per mart: row count and a digest of its rows in any order. Timestamps of when a run
    happened (`*_at`) differ between any two runs and are left out."""
    con = where.connect()
    try:
        marts = [
            table
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_catalog = current_database() "
                "order by 1"
            ).fetchall()
        ]
        digests = {}
        for table in marts:
            lines = _rows(con, table)
            digests[table] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
        return digests
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    columns = [
        column
        for (column,) in con.execute(
            "select column_name from information_schema.columns where table_schema = "
            "'marts' and table_name = ? and table_catalog = current_database() "
            "order by ordinal_position",
            [table],
        ).fetchall()
        if not column.endswith("_at")
    ]
    rows = con.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
    return sorted(repr(tuple(_plain(v) for v in row)) for row in rows)


def _plain(value: object) -> object:
    if isinstance(value, float):
        # -0.0 equals 0.0 (in SQL too), but reprs differently: a rounded tiny negative change
        # comes out either way depending on the order rows were summed in.
        return value + 0.0
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
