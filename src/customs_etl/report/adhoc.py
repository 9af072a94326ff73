"""Ad-hoc SQL on the published warehouse (`customs-etl sql` and `shell`): read-only, with a
time limit, a cap on what a query may spill to disk (in a folder of its own, not beside the
warehouse), Ctrl-C ending the query and not the program, and results printed as plain text."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from customs_etl.guard import UserError
from customs_etl.load.connection import connect
from customs_etl.report.formatting import whole

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class QueryInterrupted(UserError):
    """Ctrl-C during a query: the query ends, the shell goes on."""

    exit_code = 130


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[object, ...]]


@contextlib.contextmanager
def query_connection(
    published: Path, spill_root: Path, max_spill: str, memory_limit: str
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection whose spill goes to a private folder under `spill_root` (removed
    afterwards), at most `max_spill` of it: a runaway query fails instead of filling the disk
    the job builds on."""
    spill_root.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix="sql-", dir=spill_root))
    try:
        con = connect(
            published,
            read_only=True,
            memory_limit=memory_limit,
            extra={"temp_directory": str(spill), "max_temp_directory_size": max_spill},
        )
        try:
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def statements_in(query: str) -> bool:
    """Whether there is any SQL in `query` (not only blanks, semicolons or comments)."""
    lines = [line.split("--", 1)[0] for line in query.splitlines()]
    return bool("".join(lines).replace(";", "").strip())


def run(con: duckdb.DuckDBPyConnection, query: str, timeout_seconds: float) -> Result:
    """Run `query` in a worker thread; the caller's thread waits, so Ctrl-C (KeyboardInterrupt
    there) and the time limit both end the query with DuckDB's `interrupt()`."""
    if not statements_in(query):
        raise UserError("no SQL given; expected a query such as 'select * from marts.partners'")
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            relation = con.execute(query)
            description = relation.description or []
            outcome["result"] = Result([d[0] for d in description], relation.fetchall())
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error

    worker = threading.Thread(target=work, name="customs-sql", daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
            if worker.is_alive() and time.monotonic() - started > timeout_seconds:
                con.interrupt()
                worker.join()
                raise UserError(
                    f"the query ran longer than {timeout_seconds:g} s and was stopped; expected "
                    "a faster query, or a larger --timeout (CUSTOMS_SQL_TIMEOUT_SECONDS)"
                )
    except KeyboardInterrupt:
        con.interrupt()
        worker.join()
        raise QueryInterrupted("query interrupted (Ctrl-C); nothing was changed") from None
    return _outcome(outcome)


def _outcome(outcome: dict[str, object]) -> Result:
    error = outcome.get("error")
    if isinstance(error, duckdb.Error):
        raise UserError(_first_line(f"{type(error).__name__}: {error}"))
    if error is not None:
        # A value Python cannot represent (an interval of months, ...): said, not a traceback.
        raise UserError(
            _first_line(
                f"the result cannot be shown ({error}); expected plain column types "
                "(cast the column to varchar)"
            )
        )
    return outcome["result"]  # type: ignore[return-value]


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else text


def text_value(value: object, column: str = "", *, group_thousands: bool = False) -> str:
    """A cell as plain text: money with thousands separators in the table view."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    is_whole = isinstance(value, int | Decimal) and value == int(value)
    if group_thousands and is_whole and "value" in column:
        return whole(int(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def spreadsheet_safe(cell: str) -> str:
    """A text cell a spreadsheet would run as a formula, made text with a leading quote."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def as_csv(result: Result, *, for_spreadsheets: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        cells = []
        for value in row:
            cell = text_value(value)
            # Only text is escaped: a negative number stays a number.
            if for_spreadsheets and isinstance(value, str):
                cell = spreadsheet_safe(cell)
            cells.append(cell)
        writer.writerow(cells)
    return buffer.getvalue()


def as_json(result: Result) -> str:
    records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    return json.dumps(records, ensure_ascii=False, default=_json_value) + "\n"


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return text_value(value)
