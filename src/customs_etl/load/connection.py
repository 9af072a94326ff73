"""Connections to a warehouse database and the lock that lets one run at a time write it."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import duckdb

from customs_etl.errors import RunInProgressError
from customs_etl.load import lake

log = logging.getLogger(__name__)
# Build databases still being prepared in the background (publish/build.py): the first
# connection waits for them, so a run parses and validates while its build is made ready.
_PREPARING: dict[Path, tuple[Future[None], threading.Thread]] = {}


def preparing(path: Path, ready: Future[None], by: threading.Thread) -> None:
    """`path` is being prepared by the thread `by`; other threads' connections to it wait
    until `ready` is done."""
    _PREPARING[path] = (ready, by)


def wait_until_ready(path: Path) -> None:
    """Wait for the preparation of `path`, if any; its error, if it failed, is raised here."""
    pending = _PREPARING.get(path)
    if pending is None or pending[1] is threading.current_thread():
        return
    ready = pending[0]
    started = time.perf_counter()
    try:
        ready.result()
    finally:
        _PREPARING.pop(path, None)
    log.debug("Waited %.2f s for the build to be ready.", time.perf_counter() - started)


def connect(
    path: Path,
    *,
    read_only: bool = False,
    threads: int = 2,
    memory_limit: str = "500MB",
    extra: dict[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    # A lake run's build is its open transaction, lent to each step (lake.start_build).
    if (borrowed := lake.borrow(path)) is not None:
        return borrowed  # type: ignore[return-value]
    wait_until_ready(path)
    # Insertion order is not a promise of any table here; keeping it costs memory in big builds.
    config: dict[str, str | bool | int] = {
        "threads": threads,
        "memory_limit": memory_limit,
        "preserve_insertion_order": False,
    }
    if read_only:
        # Ad-hoc SQL may read the marts and nothing else: no files, no extensions, no ATTACH.
        config["enable_external_access"] = False
    # After external access is off (DuckDB applies them in order), before the lock.
    config |= extra or {}
    if read_only:
        config["lock_configuration"] = True
    return duckdb.connect(str(path), read_only=read_only, config=config)


def literal(value: str | int | bool | dt.date | None) -> str:
    """A value as a SQL literal, for the few queries of a run that finds nothing new: DuckDB's
    parameter binding (`con.execute(sql, [value])`) imports pandas and pyarrow, about half a
    second of a run that otherwise takes less. Strings are quoted with their single quotes
    doubled; other types are refused rather than guessed."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError("a SQL literal cannot hold a NUL character")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}: {value!r}")


@contextlib.contextmanager
def run_lock(published: Path) -> Iterator[None]:
    """One run at a time per warehouse. flock dies with its process, so no stale lock remains."""
    published.parent.mkdir(parents=True, exist_ok=True)
    lock_path = published.with_name(f".{published.name}.lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RunInProgressError(
                f"another run is in progress on {published} (lock {lock_path})"
            ) from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
