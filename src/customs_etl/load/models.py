"""A small dbt-like runner for the SQL under sql/: one model per file, named after its table.

`sql/<schema>/<table>.sql` builds `<schema>.<table>`. A file that starts with `create` is DDL for
a table the job loads incrementally (run once, idempotently); any other file is a `select` that
is materialised as its header line says (`-- materialized: table` or `-- materialized: view`),
else as its layer says. Models run in dependency order, found from the `schema.table` names
each file mentions.

A model whose rows of a month (or half-year, or year) depend only on the core rows of that unit
says so in a header line, `-- materialized: incremental by month` (rows keyed by `period`),
`-- materialized: incremental by half` (rows keyed by `year`, `half`) or `-- materialized:
incremental by year` (rows keyed by `year`, else by the `period` of their months: a year-to-date
column, or a January-February row, depends on other months of its year only), adding `and a
year later` when its rows also compare with the same unit a year earlier. Such a model is a table
in whichever layer. Given the months a run touched, it is rebuilt by deleting the rows of those
units and inserting the model's rows for them only; the model reads
`getvariable('touched_periods')` (the months being rebuilt, null meaning all) to narrow its scan
of core. It is rebuilt in full when the table is missing, the touched months are unknown, or its
checksum in meta.models (its SQL, the SQL of every model upstream and the seed files they read)
differs from the last build's. Given the months present in core, such a full build runs a few
units at a time through the same insert, so its memory is bounded by a chunk, not the history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Literal

import duckdb

from customs_etl.load import migrations, registry

log = logging.getLogger(__name__)

LAYERS = ("meta", "staging", "core", "marts")
# How each layer's select models are stored: core's are views, cheap and always current (its
# incremental aggregates are tables, as every incremental model is); what BI tools read (marts,
# and meta's freshness) is a table, unless a mart is only names looked up on such an aggregate
# (a view then: the big tables are not written twice).
MATERIALIZATION = {"meta": "table", "staging": "table", "core": "view", "marts": "table"}
_COMMENT = re.compile(r"--[^\n]*")
# How a model is stored is declared once: `materialized:` in its .yml (bigquery-etl's one
# metadata file per table) where it has one, else a `-- materialized:` line in its SQL.
_DECLARED = re.compile(r"^(?:-- )?materialized: ([^\n#]+?)[ \t]*$", re.MULTILINE)
_INCREMENTAL = re.compile(r"incremental by (month|half|year)( and a year later)?")
# Months per statement of a chunked full build: at national scale (~1M core rows a month) three
# months of the commodity marts fit a 1 GB DuckDB budget; the whole history does not.
CHUNK_MONTHS = 3
_SEED_FILE = re.compile(r"\{\{ (\w+) \}\}/([\w./-]+)")
# The rows of the units being rebuilt, for the delete and for the insert alike, so the two can
# never disagree (a half is named by its first month, a year by January; a model by year without
# a `year` column is keyed by `period`: every month of a touched year is in the list).
_ROWS_OF_UNIT = {
    "month": "list_contains(getvariable('touched_periods'), period)",
    "half": "list_contains(getvariable('touched_periods'), "
    "make_date(year, if(half = 'H1', 1, 7), 1))",
    "year": "list_contains(getvariable('touched_periods'), make_date(year, 1, 1))",
}


@dataclass(frozen=True)
class Incremental:
    """How a mart may be rebuilt a unit at a time (see the module's docstring)."""

    unit: Literal["month", "half", "year"]
    year_later: bool  # a touched unit also changes the same unit a year later (year-on-year)

    def months(self, touched: Iterable[dt.date]) -> list[dt.date]:
        """The months whose rows to rebuild: whole halves for `half`, whole years for `year`."""
        firsts = {day.replace(day=1) for day in touched}
        if self.year_later:
            firsts |= {first.replace(year=first.year + 1) for first in firsts}
        if self.unit == "half":
            firsts = {
                first.replace(month=month)
                for first in firsts
                for month in (range(1, 7) if first.month <= 6 else range(7, 13))
            }
        elif self.unit == "year":
            firsts = {first.replace(month=month) for first in firsts for month in range(1, 13)}
        return sorted(firsts)

    def chunks(self, months: Iterable[dt.date], size: int) -> list[list[dt.date]]:
        """The months of every unit containing one of `months`, a few units at a time (at
        least one unit, at most about `size` months, per chunk); no unit is split."""
        units: dict[dt.date, list[dt.date]] = {}
        for month in Incremental(self.unit, year_later=False).months(months):
            first = {
                "month": month,
                "half": month.replace(month=1 if month.month <= 6 else 7),
                "year": month.replace(month=1),
            }[self.unit]
            units.setdefault(first, []).append(month)
        chunks: list[list[dt.date]] = []
        for unit in units.values():
            if chunks and len(chunks[-1]) + len(unit) <= size:
                chunks[-1] += unit
            else:
                chunks.append(list(unit))
        return chunks


@dataclass(frozen=True)
class Model:
    schema: str
    table: str
    sql: str
    spec: str | None = None  # the model's .yml, where it has one

    @property
    def declared(self) -> str | None:
        """What the model says of its storage: `table`, `view` or `incremental by ...`."""
        match = _DECLARED.search(self.spec if self.spec is not None else self.sql)
        return match[1] if match else None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def is_ddl(self) -> bool:
        return _COMMENT.sub("", self.sql).lstrip().lower().startswith("create")

    @property
    def incremental(self) -> Incremental | None:
        match = _INCREMENTAL.fullmatch(self.declared or "")
        if match is None:
            return None
        return Incremental(match[1], bool(match[2]))  # type: ignore[arg-type]

    @property
    def materialization(self) -> str:
        """`table` or `view`: an incremental model is a table whatever its layer (a core
        aggregate kept per month, say); a model declaring `table` or `view` is that; the
        others are as their layer says."""
        if self.incremental:
            return "table"
        if self.declared in ("table", "view"):
            return self.declared
        return MATERIALIZATION[self.schema]


def discover_models(sql_dir: Path) -> list[Model]:
    models = [
        Model(layer, path.stem, path.read_text(encoding="utf-8"), _spec(path))
        for layer in LAYERS
        for path in sorted((sql_dir / layer).glob("*.sql"))
    ]
    for model in models:
        if model.spec is not None and _DECLARED.search(model.sql):
            raise ValueError(
                f"{model.name}: its storage is declared in both its .sql and its .yml; "
                "expected `materialized:` in the .yml only"
            )
    return models


def _spec(sql_path: Path) -> str | None:
    yml = sql_path.with_suffix(".yml")
    return yml.read_text(encoding="utf-8") if yml.is_file() else None


def dependencies(models: list[Model]) -> dict[str, set[str]]:
    """For each model, the models its SQL mentions."""
    names = [m.name for m in models]
    return {
        m.name: {
            other
            for other in names
            # comments may name other models without depending on them
            if other != m.name and re.search(rf"\b{re.escape(other)}\b", _COMMENT.sub("", m.sql))
        }
        for m in models
    }


def ordered(models: list[Model]) -> list[Model]:
    """Models sorted so that each comes after the models its SQL mentions."""
    by_name = {m.name: m for m in models}
    return [by_name[name] for name in TopologicalSorter(dependencies(models)).static_order()]


def upstream(name: str, graph: dict[str, set[str]]) -> set[str]:
    """Every model `name` reads, directly or through others."""
    seen: set[str] = set()
    pending = list(graph.get(name, ()))
    while pending:
        other = pending.pop()
        if other not in seen:
            seen.add(other)
            pending += graph.get(other, ())
    return seen


def render(sql: str, variables: dict[str, str]) -> str:
    """Fill `{{ name }}` placeholders (paths of seed files) with quoted-safe values."""
    for key, value in variables.items():
        sql = sql.replace("{{ " + key + " }}", value.replace("'", "''"))
    return sql


def create_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for layer in LAYERS:
        con.execute(f"create schema if not exists {layer}")


def apply_ddl(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    create_schemas(con)
    migrations.before_ddl(con)
    lake = _is_ducklake(con)
    for model in ordered([m for m in discover_models(sql_dir) if m.is_ddl]):
        # DuckLake has no primary keys or unique constraints: the loader keeps keys unique.
        con.execute(_PRIMARY_KEY.sub("", model.sql) if lake else model.sql)
    migrations.after_ddl(con)


_PRIMARY_KEY = re.compile(r"\s+primary key\b", re.IGNORECASE)


def _is_ducklake(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select type from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return bool(found) and found[0] == "ducklake"


class Checksums:
    """The checksum of each model: its SQL, the SQL of every model upstream and the bytes of the
    seed files any of them reads. A mart's rows outside the touched months are only still right
    if none of these changed since it was built."""

    def __init__(self, models: list[Model], variables: dict[str, str]) -> None:
        self._by_name = {m.name: m for m in models}
        self._graph = dependencies(models)
        self._variables = variables
        self._files: dict[Path, str] = {}

    def of(self, model: Model) -> str:
        digest = hashlib.sha256()
        for name in sorted(upstream(model.name, self._graph) | {model.name}):
            sql = self._by_name[name].sql
            digest.update(f"{name}\0{sql}\0".encode())
            for path in self._seed_files(sql):
                digest.update(f"{path.name}\0{self._file(path)}\0".encode())
        return digest.hexdigest()

    def _seed_files(self, sql: str) -> list[Path]:
        return [
            Path(self._variables[key]) / relative
            for key, relative in _SEED_FILE.findall(sql)
            if key in self._variables
        ]

    def _file(self, path: Path) -> str:
        if path not in self._files:
            self._files[path] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
            )
        return self._files[path]


def build(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    variables: dict[str, str],
    layers: tuple[str, ...] = LAYERS,
    touched_periods: Iterable[dt.date] | None = None,
    all_periods: Iterable[dt.date] | None = None,
    chunk_months: int = CHUNK_MONTHS,
) -> list[str]:
    """(Re)build every select model of the given layers; returns the names built, in order.

    With `touched_periods` (the months whose core rows this run may have changed), incremental
    marts rebuild only those months' units; without, everything is rebuilt in full. With
    `all_periods` (every month with rows in core), a full build of an incremental model inserts
    about `chunk_months` months at a time; without, it is one statement."""
    everything = discover_models(sql_dir)
    checksums = Checksums(everything, variables)
    registry = _registry(con)
    touched = None if touched_periods is None else list(touched_periods)
    every_month = None if all_periods is None else list(all_periods)
    built = []
    for model in ordered([m for m in everything if not m.is_ddl]):
        if model.schema not in layers:
            continue
        started = time.perf_counter()
        body = render(model.sql, variables).strip().rstrip(";")
        checksum = checksums.of(model)
        spec = model.incremental
        if spec and touched is not None and _current(con, model, registry, checksum):
            months = spec.months(touched)
            _rebuild_units(con, model, spec, body, months)
            _record(con, registry, model, checksum, len(months))
        elif spec and every_month is not None:
            _build_in_chunks(con, model, spec, body, spec.chunks(every_month, chunk_months))
            _record(con, registry, model, checksum, None)
        else:
            set_touched(con, None)
            _drop_if_other_kind(con, model)
            con.execute(f"create or replace {model.materialization} {model.name} as\n{body}")
            _record(con, registry, model, checksum, None)
        built.append(model.name)
        seconds = time.perf_counter() - started
        # Where a run's time goes, model by model (bench/flat_history.py --models reads these).
        log.debug(
            "Model %s: %.3f s", model.name, seconds, extra={"model": model.name, "seconds": seconds}
        )
    con.execute("reset variable touched_periods")
    return built


def set_touched(con: duckdb.DuckDBPyConnection, months: list[dt.date] | None) -> None:
    # Typed even when null, so a model may call list_contains on it either way.
    con.execute("set variable touched_periods = cast(? as date[])", [months])


def _build_in_chunks(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    spec: Incremental,
    body: str,
    chunks: list[list[dt.date]],
) -> None:
    """A full build, chunk by chunk: the empty table (its columns typed by the model), then each
    chunk's units inserted as a run that touched them would insert them."""
    set_touched(con, [])
    _drop_if_other_kind(con, model)
    con.execute(f"create or replace table {model.name} as\nselect * from (\n{body}\n) limit 0")
    rows_of_unit = unit_predicate(con, model, spec)
    for months in chunks:
        set_touched(con, months)
        con.execute(f"insert into {model.name} by name\n{_rows_of_units(rows_of_unit, body)}")


def unit_predicate(con: duckdb.DuckDBPyConnection, model: Model, spec: Incremental) -> str:
    """The predicate naming the rows of the units being rebuilt, in the model's table."""
    if spec.unit == "year" and "year" not in _columns(con, model):
        return _ROWS_OF_UNIT["month"]  # keyed by period: the touched years' every month
    return _ROWS_OF_UNIT[spec.unit]


def _columns(con: duckdb.DuckDBPyConnection, model: Model) -> set[str]:
    found = con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ? and table_catalog = current_database()",
        [model.schema, model.table],
    ).fetchall()
    return {name for (name,) in found}


def _rows_of_units(rows_of_unit: str, body: str) -> str:
    """The model's rows of the units being rebuilt (a model reading the year before, or any
    other month, may return rows of other units: only the touched units' rows are kept)."""
    return f"select * from (\n{body}\n) as rebuilt where {rows_of_unit}"


def _rebuild_units(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    spec: Incremental,
    body: str,
    months: list[dt.date],
) -> None:
    """Delete the rows of the units being rebuilt and insert the model's rows for them."""
    if not months:
        return
    set_touched(con, months)
    rows_of_unit = unit_predicate(con, model, spec)
    con.execute(f"delete from {model.name} where {rows_of_unit}")
    con.execute(f"insert into {model.name} by name\n{_rows_of_units(rows_of_unit, body)}")


def _registry(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The checksums of the last build (None in a warehouse without meta.models: then every
    model is rebuilt in full and nothing is recorded)."""
    if not _table_exists(con, "meta", "models"):
        return None
    return dict(con.execute("select model, checksum from meta.models").fetchall())


def _current(
    con: duckdb.DuckDBPyConnection, model: Model, registry: dict[str, str] | None, checksum: str
) -> bool:
    """Whether the table holds this model's rows as last built, so units may be replaced."""
    return (
        registry is not None
        and registry.get(model.name) == checksum
        and _table_exists(con, model.schema, model.table)
    )


def _drop_if_other_kind(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """`create or replace` cannot turn a table into a view or back: a warehouse built before a
    model changed kind drops the old object first (in the build's transaction, like the rest)."""
    kind = _existing_kind(con, model.schema, model.table)
    if kind and kind != model.materialization:
        con.execute(f"drop {kind} {model.name}")


def _existing_kind(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """`table`, `view`, or None when there is no such object."""
    found = con.execute(
        # In this database only: an as-of file attaches the lake, whose tables are listed too.
        "select table_type from information_schema.tables where table_schema = ? "
        "and table_name = ? and table_catalog = current_database()",
        [schema, table],
    ).fetchone()
    return {"BASE TABLE": "table", "VIEW": "view"}.get(found[0]) if found else None


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return _existing_kind(con, schema, table) == "table"


def _record(
    con: duckdb.DuckDBPyConnection,
    registry: dict[str, str] | None,
    model: Model,
    checksum: str,
    months_rebuilt: int | None,
) -> None:
    if registry is None:
        return
    materialized = "incremental" if model.incremental else model.materialization
    # delete + insert rather than `insert or replace`: DuckLake has no primary keys.
    con.execute("delete from meta.models where model = ?", [model.name])
    con.execute(
        "insert into meta.models "
        "(model, checksum, materialized, last_build, months_rebuilt, built_at) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            model.name,
            checksum,
            materialized,
            "full" if months_rebuilt is None else "units",
            months_rebuilt,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )


def forget_builds(con: duckdb.DuckDBPyConnection) -> None:
    """Make the next build a full one (for marts that are not the marts of their core, such as
    an as-of copy's)."""
    if _table_exists(con, "meta", "models"):
        con.execute("delete from meta.models")


def prepare_schema(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    apply_ddl(con, sql_dir)


def build_models(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    seeds_dir: Path,
    layers: tuple[str, ...] = LAYERS,
    touched_periods: list[dt.date] | None = None,
    chunk_months: int | None = CHUNK_MONTHS,
) -> list[str]:
    """Rebuild staging (seeds), core views and marts in one transaction. With the months a run
    touched, incremental marts rebuild only those; None rebuilds everything in full. A full
    build of an incremental mart runs `chunk_months` months at a time (None: one statement),
    so that its memory does not grow with the history."""
    variables = {"seeds_dir": str(seeds_dir.resolve())}

    def build_all() -> list[str]:
        every_month = None if chunk_months is None else registry.core_months(con)
        return build(
            con,
            sql_dir,
            variables,
            layers,
            touched_periods,
            all_periods=every_month,
            chunk_months=chunk_months or CHUNK_MONTHS,
        )

    if getattr(con, "in_run_transaction", False):
        return build_all()  # a lake run: inside the run's one transaction already
    con.execute("begin transaction")
    try:
        built = build_all()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return built
