"""load/connection.py's literal: a value as SQL text that DuckDB reads back as the same value."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from customs_etl.load.connection import literal

VALUES = [
    None,
    True,
    False,
    0,
    -42,
    2**62,
    "",
    "PRK",
    "O'Brien",
    "''",
    "'; drop table marts.trade_monthly; --",
    "back\\slash \\' and \\n",
    "line\nbreak\ttab",
    "$1 ? :name {0}",
    "朝鲜 Côte d’Ivoire",
    dt.date(1, 1, 1),
    dt.date(2025, 6, 30),
    dt.date(9999, 12, 1),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_duckdb_reads_a_literal_back_as_its_value(value: object) -> None:
    con = duckdb.connect()
    try:
        [(back,)] = con.execute(f"select {literal(value)}").fetchall()  # type: ignore[arg-type]
    finally:
        con.close()
    assert back == value
    assert type(back) is type(value)


def test_a_quoted_string_stays_one_value_in_a_where_clause() -> None:
    con = duckdb.connect()
    try:
        con.execute("create table t (name varchar)")
        con.execute("insert into t values ('a'), ('b'), ('x'' or ''1''=''1')")
        sneaky = "x' or '1'='1"
        rows = con.execute(f"select name from t where name = {literal(sneaky)}").fetchall()
    finally:
        con.close()
    assert rows == [(sneaky,)]


@pytest.mark.parametrize("value", [1.5, dt.datetime(2025, 1, 1), b"bytes", ["a"]], ids=repr)
def test_other_types_are_refused_not_guessed(value: object) -> None:
    with pytest.raises(TypeError, match="no SQL literal"):
        literal(value)  # type: ignore[arg-type]


def test_a_nul_character_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        literal("a\0b")
