"""The lake backend: the warehouse as a DuckLake (a catalog in PostgreSQL or SQLite, data as
Parquet in a folder or an S3 bucket), chosen by `CUSTOMS_LAKE_CATALOG` and
`CUSTOMS_LAKE_DATA_PATH`.

Why it is shaped this way:
- A run is ONE DuckLake transaction on one connection, from its first load to its marts: what
  it commits is one snapshot, and a run killed before that leaves nothing visible (its Parquet
  files are orphans, removed by the upkeep). The flow's steps borrow that connection through
  the path `start_build` hands out, as they open the embedded build file by its path.
- Nothing is copied per run: a month adds its own Parquet files, marts rebuild the touched
  months; snapshots are the kept versions, and `rollback` / `as-of` read them (time travel).
- One run at a time across hosts: a PostgreSQL advisory lock held by a session of the run
  (it ends with the process, however it ends); `flock` beside a SQLite catalog.
- Readers attach the lake read-only with external access off except to the data path: they
  read the snapshot current when their query starts and never block the job.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from customs_etl.errors import RunInProgressError

if TYPE_CHECKING:
    from customs_etl.settings import Settings

LAKE = "lake"  # the name the lake is attached under; `use lake` makes `marts.x` resolve there
# The extensions DuckLake needs, from the duckdb-extension-* wheels of DuckDB's own version:
# installed from the files the wheels ship, never downloaded.
EXTENSIONS = {
    "ducklake": "duckdb_extension_ducklake",
    "httpfs": "duckdb_extension_httpfs",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
}
# pg_try_advisory_lock's key: "customs" in ASCII, one lock per catalog database.
_ADVISORY_KEY = 0x637573746F6D73


class LakeError(RuntimeError):
    """The lake cannot be reached or is not there yet; the message says which and why."""


class LakeNotBuiltError(LakeError):
    """The lake is reachable but nothing is published in it yet."""


def enabled(settings: Settings) -> bool:
    return bool(settings.lake_catalog)


def describe(settings: Settings) -> str:
    return f"the lake ducklake:{_redacted(settings.lake_catalog or '')} ({_data_path(settings)})"


def _redacted(catalog: str) -> str:
    return re.sub(r"password=\S+", "password=***", catalog)


def _data_path(settings: Settings) -> str:
    """A folder ends with a slash for DuckLake; a relative one is made absolute so that every
    process of the host agrees where it is."""
    path = settings.lake_data_path
    if not path:
        raise LakeError("CUSTOMS_LAKE_DATA_PATH is not set: a local folder or s3://bucket/prefix/")
    if "://" not in path:
        path = str(Path(path).resolve())
        Path(path).mkdir(parents=True, exist_ok=True)
    return path if path.endswith("/") else path + "/"


# --- connections -------------------------------------------------------------------------


def _extension_file(name: str) -> Path:
    spec = importlib.util.find_spec(EXTENSIONS[name])
    if spec is None or spec.origin is None:
        raise LakeError(f"the duckdb-extension-{name} wheel is not installed (uv sync)")
    return next(Path(spec.origin).parent.rglob(f"{name}.duckdb_extension"))


def load_extensions(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """INSTALL every extension from its wheel's file when not installed from it already (the
    ducklake extension loads its catalog's by name), then LOAD only what this lake needs: each
    LOAD costs ~0.3 s (the file's signature is checked), once per connection."""
    installed = dict(
        con.execute(
            "select extension_name, installed_from from duckdb_extensions() where installed"
        ).fetchall()
    )
    for name in EXTENSIONS:
        source = str(_extension_file(name))
        if installed.get(name) != source:
            con.execute(f"force install '{_quoted(source)}'")
    catalog = (settings.lake_catalog or "").split(":", 1)[0]
    needed = ["ducklake", {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}.get(catalog)]
    if _data_path(settings).startswith("s3://"):
        needed.append("httpfs")
    for name in filter(None, needed):
        con.execute(f"load {name}")


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """The standard AWS_* variables as DuckDB's S3 secret (an endpoint without a scheme, path
    style, TLS as the endpoint's URL says)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    options = {
        "key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        "session_token": os.environ.get("AWS_SESSION_TOKEN"),
    }
    if endpoint:
        options |= {
            "endpoint": re.sub(r"^https?://", "", endpoint).rstrip("/"),
            "url_style": "path",
            "use_ssl": "true" if endpoint.startswith("https") else "false",
        }
    body = ", ".join(
        f"{key} {value}" if key == "use_ssl" else f"{key} '{_quoted(value)}'"
        for key, value in options.items()
        if value
    )
    con.execute(f"create or replace secret customs_s3 (type s3{', ' if body else ''}{body})")


def connect(
    settings: Settings,
    *,
    read_only: bool = False,
    snapshot: int | None = None,
    locked_down: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` and in use. `snapshot` pins a
    read-only view of that version; `locked_down` (ad-hoc SQL) turns external access off but
    for the data path, and locks the configuration."""
    con = duckdb.connect(
        config={
            "threads": settings.duckdb_threads,
            "memory_limit": settings.duckdb_memory_limit,
            "preserve_insertion_order": False,
        }
    )
    try:
        load_extensions(con, settings)
        data_path = _data_path(settings)
        if data_path.startswith("s3://"):
            _s3_secret(con)
        options = [f"data_path '{_quoted(data_path)}'"]
        if read_only or snapshot is not None:
            options.append("read_only")
        if snapshot is not None:
            options.append(f"snapshot_version {int(snapshot)}")
        else:
            # Small writes as Parquet too (not inlined in the catalog): the data stays in the
            # object store, and the catalog small.
            options.append("data_inlining_row_limit 0")
        if not read_only and snapshot is None:
            _sqlite_in_wal_mode(settings.lake_catalog or "")
        catalog = f"ducklake:{settings.lake_catalog}"
        con.execute(f"attach '{_quoted(catalog)}' as {LAKE} ({', '.join(options)})")
        con.execute(f"use {LAKE}")
        if locked_down:
            con.execute("set allowed_directories = [?]", [data_path])
            con.execute("set enable_external_access = false")
            con.execute("set lock_configuration = true")
    except duckdb.Error as error:
        con.close()
        raise LakeError(f"cannot open {describe(settings)}: {error}") from error
    return con


def _sqlite_in_wal_mode(catalog: str) -> None:
    """A SQLite catalog in write-ahead-log mode: in its default mode a reader's open read
    makes the run's commit fail with "database is locked" (readers must never block the job).
    The mode is kept in the file; set once, before DuckLake creates it."""
    if not catalog.startswith("sqlite:"):
        return
    path = Path(catalog.removeprefix("sqlite:"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as catalog_db:
        catalog_db.execute("pragma journal_mode = wal")


def reader(settings: Settings, *, locked_down: bool = True) -> duckdb.DuckDBPyConnection:
    """Read-only, for ad-hoc SQL and reports: the marts of the latest snapshot (`locked_down`
    off only for our own commands that write files, such as the Parquet export)."""
    not_built = LakeNotBuiltError(
        f"no warehouse in {describe(settings)} yet: run `customs-etl run` first"
    )
    if _catalog_missing(settings.lake_catalog or ""):
        raise not_built
    try:
        con = connect(settings, read_only=True, locked_down=locked_down)
    except LakeError as error:
        # Read-only, DuckLake refuses to create a catalog the first run has not made yet.
        if "creating a new DuckLake is explicitly disabled" in str(error):
            raise not_built from None
        raise
    if not _has_table(con, "meta", "releases"):
        con.close()
        raise not_built
    return con


def _catalog_missing(catalog: str) -> bool:
    """A SQLite catalog whose file is not there yet (DuckDB says only "unable to open")."""
    return catalog.startswith("sqlite:") and not Path(catalog.removeprefix("sqlite:")).exists()


def exists(settings: Settings) -> bool:
    try:
        reader(settings).close()
    except LakeNotBuiltError:
        return False
    return True


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_catalog = ? "
        "and table_schema = ? and table_name = ?",
        [LAKE, schema, table],
    ).fetchone()
    return bool(found and found[0])


# --- a run: one transaction ----------------------------------------------------------------


class RunConnection:
    """The run's connection lent to a step: every statement joins the run's transaction, and
    closing it only hands it back. `in_run_transaction` tells the loader not to open
    transactions of its own (DuckDB has no savepoints)."""

    in_run_transaction = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


_RUNS: dict[Path, duckdb.DuckDBPyConnection] = {}


def start_build(settings: Settings) -> Path:
    """Open the run's transaction; the path returned names it for `borrow`."""
    con = connect(settings)
    con.execute("begin transaction")
    handle = settings.work_dir / f".lake-run-{uuid.uuid4().hex}.build"
    _RUNS[handle] = con
    return handle


def borrow(build: Path) -> RunConnection | None:
    """The run's connection if `build` names an open lake run, else None."""
    con = _RUNS.get(build)
    return None if con is None else RunConnection(con)


def discard(build: Path) -> None:
    """Roll the run back: nothing of it becomes visible."""
    con = _RUNS.pop(build, None)
    if con is not None:
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
        con.close()


def run_connection(build: Path) -> duckdb.DuckDBPyConnection:
    """The run's own connection (for publishing it)."""
    con = _RUNS.get(build)
    if con is None:
        raise LakeError(f"no open lake run {build.name}")
    return con


def forget_run(build: Path) -> None:
    """The run was committed: its connection is no longer the build's."""
    _RUNS.pop(build, None)


def discard_all() -> None:
    for build in list(_RUNS):
        discard(build)


# --- one run at a time ---------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One run at a time on this lake, across hosts: a PostgreSQL advisory lock for a
    PostgreSQL catalog (held by a session of ours: it ends with the process, however the
    process ends), `flock` beside a SQLite or DuckDB catalog file (one host only). Whatever
    the run left open is rolled back on the way out."""
    catalog = settings.lake_catalog or ""
    try:
        if catalog.startswith("postgres:"):
            with _advisory_lock(catalog, settings.lake_lock_wait_seconds):
                yield
        else:
            with _file_lock(catalog):
                yield
    finally:
        discard_all()


@contextlib.contextmanager
def _advisory_lock(catalog: str, wait_seconds: float = 0) -> Iterator[None]:
    """Waits up to `wait_seconds` for the lock, polling (a blocking pg_advisory_lock could not
    be given up on)."""
    import psycopg

    conninfo = catalog.removeprefix("postgres:")
    try:
        session = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as error:
        raise LakeError(
            f"cannot reach the lake's catalog ({_redacted(conninfo)}): {error}"
        ) from error
    try:
        deadline = time.monotonic() + wait_seconds
        got = _try_lock(session)
        while not got and time.monotonic() < deadline:
            time.sleep(0.5)
            got = _try_lock(session)
        if not got:
            raise RunInProgressError(
                f"another run is in progress on the lake ({_redacted(conninfo)}: a session "
                f"holds advisory lock {_ADVISORY_KEY}); run again when it has finished"
            )
        yield
    finally:
        session.close()  # the lock goes with the session


def _try_lock(session: Any) -> bool:
    [(got,)] = session.execute("select pg_try_advisory_lock(%s)", [_ADVISORY_KEY]).fetchall()
    return bool(got)


@contextlib.contextmanager
def _file_lock(catalog: str) -> Iterator[None]:
    path = Path(catalog.split(":", 1)[-1] if ":" in catalog else catalog)
    lock_path = path.with_name(f".{path.name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RunInProgressError(
                f"another run is in progress on the lake {path} (lock {lock_path})"
            ) from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def undo_refused(con: Any, table: str, release_ids: list[str]) -> None:
    """Inside the run's transaction, take a refused release's rows out again (what a
    rollback of its own transaction does on the embedded backend)."""
    con.execute(f"delete from {table} where list_contains(?, release_id)", [release_ids])


def _quoted(text: str) -> str:
    return text.replace("'", "''")
