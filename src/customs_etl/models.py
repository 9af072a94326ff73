"""A small dbt-like runner for the SQL under sql/: one model per file, named after its table.

`sql/<schema>/<table>.sql` builds `<schema>.<table>`. A file that starts with `create` is DDL for
a table the job loads incrementally (run once, idempotently); any other file is a `select` that
is materialised the way its layer says. Models run in dependency order, found from the
`schema.table` names each file mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

LAYERS = ("meta", "staging", "core", "marts")
# How each layer's select models are stored: core stays cheap and always current; what BI
# tools read (marts, and meta's freshness) is a table.
MATERIALIZATION = {"meta": "table", "staging": "table", "core": "view", "marts": "table"}
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    schema: str
    table: str
    sql: str

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def is_ddl(self) -> bool:
        return _COMMENT.sub("", self.sql).lstrip().lower().startswith("create")


def discover_models(sql_dir: Path) -> list[Model]:
    return [
        Model(layer, path.stem, path.read_text(encoding="utf-8"))
        for layer in LAYERS
        for path in sorted((sql_dir / layer).glob("*.sql"))
    ]


def ordered(models: list[Model]) -> list[Model]:
    """Models sorted so that each comes after the models its SQL mentions."""
    by_name = {m.name: m for m in models}
    graph = {
        m.name: {
            other
            for other in by_name
            # comments may name other models without depending on them
            if other != m.name and re.search(rf"\b{re.escape(other)}\b", _COMMENT.sub("", m.sql))
        }
        for m in models
    }
    return [by_name[name] for name in TopologicalSorter(graph).static_order()]


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
    for model in ordered([m for m in discover_models(sql_dir) if m.is_ddl]):
        con.execute(model.sql)


def build(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    variables: dict[str, str],
    layers: tuple[str, ...] = LAYERS,
) -> list[str]:
    """(Re)build every select model of the given layers; returns the names built, in order."""
    built = []
    selects = [m for m in discover_models(sql_dir) if not m.is_ddl]
    for model in ordered(selects):
        if model.schema not in layers:
            continue
        kind = MATERIALIZATION[model.schema]
        body = render(model.sql, variables).strip().rstrip(";")
        con.execute(f"create or replace {kind} {model.name} as\n{body}")
        built.append(model.name)
    return built
