"""`customs-etl`: run the job, ingest files, query and report on the published warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib.metadata
import json
import logging
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import pydantic
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Typer 0.2x carries its own copy of click: its usage errors are these classes.
from typer._click import exceptions as usage

from customs_etl import backend, guard, progress
from customs_etl.errors import (
    ClusterUnavailableError,
    DiskFullError,
    RejectedReleasesError,
    RunInProgressError,
)
from customs_etl.guard import UserError
from customs_etl.load.connection import connect
from customs_etl.load.lake import LakeError, LakeNotBuiltError
from customs_etl.load.registry import loaded_source_names
from customs_etl.publish import as_of_copy
from customs_etl.publish.status import describe_facts, status_facts
from customs_etl.report import adhoc
from customs_etl.report import text as report_text
from customs_etl.settings import Settings, get_settings


class _App(typer.Typer):
    """The program: a user's mistake, including click's usage errors, is one line on stderr."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        command = typer.main.get_command(self)
        try:
            code = command.main(prog_name="customs-etl", standalone_mode=False)
        except usage.NoArgsIsHelpError as error:
            typer.echo(error.ctx.get_help() if error.ctx else "customs-etl --help")
            sys.exit(0)
        except usage.UsageError as error:
            hint = f"; see `{error.ctx.command_path} --help`" if error.ctx else ""
            _say_error(f"{error.format_message().rstrip('.')}{hint}")
            sys.exit(error.exit_code)
        except typer.Abort:
            _say_error("interrupted; nothing was changed")
            sys.exit(guard.EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


app = _App(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)
# Errors go to stderr unwrapped, so a path in a message stays whole for copy and grep.
errors = Console(stderr=True, soft_wrap=True)

Command = TypeVar("Command", bound=Callable[..., Any])


def _say(text: object) -> None:
    """Print text as it is: names and values from the data are never read as Rich markup."""
    console.print(text, markup=False, highlight=False)


def _say_error(text: str) -> None:
    sys.stderr.write(" ".join(str(text).split()) + "\n")
    sys.stderr.flush()


def plain_errors(command: Command) -> Command:
    """A user's mistake in a command: one line on stderr and its exit code, no traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as error:
            _say_error(error.line())
            raise typer.Exit(error.exit_code) from None
        except LakeNotBuiltError as error:  # as guard.NoWarehouseError, for the lake
            _say_error(str(error))
            raise typer.Exit(guard.EXIT_NO_WAREHOUSE) from None
        except LakeError as error:  # the lake's catalog or data path: said by load/lake.py
            _say_error(str(error))
            raise typer.Exit(guard.EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            _say_error("interrupted (Ctrl-C); nothing published was changed")
            raise typer.Exit(guard.EXIT_INTERRUPTED) from None
        except OSError as error:
            _say_error(guard.explain_os_error(error).line())
            raise typer.Exit(guard.EXIT_USER_ERROR) from None
        except pydantic.ValidationError as error:  # a CUSTOMS_* setting that does not parse
            first = error.errors()[0]
            name = "CUSTOMS_" + "_".join(map(str, first["loc"])).upper()
            _say_error(f"setting {name}={first.get('input')!r}: {first['msg']}")
            raise typer.Exit(guard.EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        _say(importlib.metadata.version("customs-etl"))
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """`customs-etl`: run the job, ingest files, query and report on the published warehouse."""


WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        help="Published DuckDB file (CUSTOMS_WAREHOUSE_PATH); unused with CUSTOMS_LAKE_CATALOG.",
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class FlowChoice(StrEnum):
    export = "export"
    import_ = "import"


@app.command()
@plain_errors
def run(
    landing: Annotated[
        Path | None, typer.Option(help="Landing folder (CUSTOMS_LANDING_DIR); default: the sample.")
    ] = None,
    warehouse_path: WarehouseOption = None,
    summary_partner: Annotated[str, typer.Option(help="ISO3 partner to summarise.")] = "PRK",
) -> None:
    """Load every new release in the landing folder, rebuild the marts and publish."""
    _run_job(get_settings(landing_dir=landing, warehouse_path=warehouse_path))
    _print_half_years(warehouse_path, summary_partner)


@app.command("as-of")
@plain_errors
def as_of_command(
    date: Annotated[str, typer.Argument(help="The day to look back to, YYYY-MM-DD.")],
    warehouse_path: WarehouseOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write it; default warehouse/as_of/<name>-<date>.")
    ] = None,
    snapshot: Annotated[
        int | None,
        typer.Option(help="Lake only: read core at this snapshot (default: the day's last)."),
    ] = None,
) -> None:
    """Build a copy of the warehouse whose marts show what was known on DATE (releases
    published by then, or received by then where the publication date is unknown). On the
    lake, core is read at the snapshot current at the end of DATE (time travel)."""
    day = _date(date)
    settings = get_settings(warehouse_path=warehouse_path)
    if snapshot is not None and not backend.is_lake(settings):
        raise UserError("--snapshot needs the lake backend; expected CUSTOMS_LAKE_CATALOG set")
    _published(settings)
    own_folder = as_of_copy.as_of_path(settings.warehouse_path, day).parent
    target = out or as_of_copy.as_of_path(settings.warehouse_path, day)
    # Only an earlier as-of copy in the as-of folder may be replaced; anything else is refused.
    replaceable = target.absolute().parent == own_folder.absolute() and target.suffix == ".duckdb"
    guard.output_file(target, guard.Protected.of(settings), may_replace=replaceable)
    built, read_at = backend.build_as_of(settings, day, target, snapshot)
    con = connect(built, read_only=True)
    try:
        [(latest,)] = con.execute(
            "select strftime(max(period_end), '%Y-%m') from marts.trade_monthly"
        ).fetchall()
    finally:
        con.close()
    source = "" if read_at is None else f", from lake snapshot {read_at}"
    _say(f"Marts as of {day}: {built} (latest month {latest or 'none'}{source}).")


def _utc(report: object) -> dt.datetime:
    """When a report was written, naive UTC like meta.releases' timestamps."""
    when = dt.datetime.fromisoformat(report.quarantined_at)  # type: ignore[attr-defined]
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"date {text!r}: expected a day as YYYY-MM-DD") from None


@app.command()
@plain_errors
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Release files to load, from anywhere.")],
    flow: Annotated[FlowChoice, typer.Option("--flow", help="China's import or export.")],
    warehouse_path: WarehouseOption = None,
) -> None:
    """Load release files given by path (a query export has no flow column: say which)."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}; expected release files")
    paths = [f.resolve() for f in files]
    settings = get_settings(warehouse_path=warehouse_path)
    _run_job(settings, files=paths, trade_flow=flow.value)


TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Stop a query after this many seconds (CUSTOMS_SQL_TIMEOUT_SECONDS).",
        min=0.001,
    ),
]


@app.command()
@plain_errors
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run, read-only.")],
    warehouse_path: WarehouseOption = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    timeout: TimeoutOption = None,
    spreadsheet_safe: Annotated[
        bool,
        typer.Option(
            "--spreadsheet-safe",
            help="CSV: prefix text cells starting with = + - @ with ' so a spreadsheet shows "
            "them as text, not a formula.",
        ),
    ] = False,
) -> None:
    """Run a query on the published warehouse, opened read-only with external access off,
    stopped after --timeout seconds, spilling at most CUSTOMS_SQL_MAX_SPILL to disk."""
    settings = get_settings(warehouse_path=warehouse_path)
    with _query_connection(settings) as con:
        result = adhoc.run(con, query, timeout or settings.sql_timeout_seconds)
    _print_result(result, output, spreadsheet_safe=spreadsheet_safe)


@app.command()
@plain_errors
def shell(warehouse_path: WarehouseOption = None, timeout: TimeoutOption = None) -> None:
    """Interactive read-only SQL on the published warehouse (end a statement with ';').
    Line editing and history (~/.customs_etl_history, CUSTOMS_SHELL_HISTORY); Ctrl-C ends the
    running query or the line being typed, Ctrl-D the shell."""
    settings = get_settings(warehouse_path=warehouse_path)
    with _query_connection(settings) as con, _line_history(settings.shell_history):
        _say("Read-only SQL on the marts; `.tables` lists them, Ctrl-D ends.")
        _shell_loop(con, timeout or settings.sql_timeout_seconds)


def _shell_loop(con: duckdb.DuckDBPyConnection, timeout: float) -> None:
    buffer = ""
    while True:
        try:
            line = input("customs> " if not buffer else "    ...> ")
        except EOFError:
            return
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            buffer = ""  # Ctrl-C drops the statement being typed, as psql does
            continue
        buffer = f"{buffer}\n{line}".strip()
        if buffer == ".tables":
            buffer = "select table_schema, table_name from information_schema.tables order by 1, 2;"
        if buffer.endswith(";") or (buffer and not adhoc.statements_in(buffer)):
            _run_interactive(con, buffer, timeout)
            buffer = ""


def _run_interactive(con: duckdb.DuckDBPyConnection, statement: str, timeout: float) -> None:
    try:
        _print_result(adhoc.run(con, statement, timeout), OutputFormat.table)
    except UserError as error:  # said, and the shell goes on
        _say_error(error.line())


@contextlib.contextmanager
def _line_history(path: Path) -> Iterator[None]:
    """readline's line editing for input(), with the history kept in a file."""
    try:
        import readline
    except ImportError:  # a Python built without it: plain input() still works
        yield
        return
    with contextlib.suppress(OSError):  # an unreadable history is no reason to refuse
        if path.is_file():
            readline.read_history_file(str(path))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.set_history_length(1000)
            readline.write_history_file(str(path))


@app.command(name="report")
@plain_errors
def report_command(
    partner: Annotated[str, typer.Option(help="ISO 3166 alpha-3 code, e.g. PRK.")] = "PRK",
    period: Annotated[str, typer.Option(help="Half-year, e.g. 2025H1.")] = "2025H1",
    warehouse_path: WarehouseOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the HTML report and PNG (reports/).")
    ] = None,
) -> None:
    """The article's paragraph from the marts, and an HTML report with charts and its PNG."""
    half = _half_year(period)
    settings = get_settings(warehouse_path=warehouse_path)
    con = _open_published(settings)
    try:
        partner_iso3 = _known_partner(con, partner)
        _known_period(con, half)
        from customs_etl.report.html import report_stem, write_html_report  # matplotlib: slow

        # Checked before anything is written: the folder, and both files by their final names.
        out_dir = guard.output_folder(out or settings.project_dir / "reports", _protected(settings))
        stem = report_stem(partner_iso3, half)
        for target in (out_dir / f"{stem}.html", out_dir / f"{stem}.png"):
            guard.output_file(target, _protected(settings), may_replace=True)
        _say(report_text.article(con, partner_iso3, half))
        _say(report_text.sanctions_section(con, partner_iso3, half))
        files = write_html_report(con, partner_iso3, half, out_dir)
    finally:
        con.close()
    _say(str(files.html))
    _say(str(files.png))


def _half_year(text: str) -> report_text.HalfYear:
    try:
        return report_text.HalfYear.parse(text)
    except ValueError as error:
        raise UserError(str(error)) from None


def _known_partner(con: duckdb.DuckDBPyConnection, partner: str) -> str:
    """The partner's code as the marts know it, with trade loaded; file names are built from
    this alone."""
    code = partner.strip().upper()
    row = con.execute(
        "select partner_iso3, partner_name, exists (select 1 from marts.trade_half_year as t "
        "where t.partner_iso3 = p.partner_iso3) from marts.partners as p where partner_iso3 = ?",
        [code],
    ).fetchone()
    if row is None:
        raise UserError(
            f"partner {partner!r} is not in marts.partners; expected an ISO 3166 alpha-3 code "
            "such as PRK"
        )
    if not row[2]:
        raise UserError(
            f"partner {row[0]} ({row[1]}) has no trade in the warehouse; expected a partner "
            "with trade loaded, such as PRK"
        )
    return str(row[0])


def _known_period(con: duckdb.DuckDBPyConnection, half: report_text.HalfYear) -> None:
    [(first, last, known)] = con.execute(
        "select min(year || half), max(year || half), "
        "count(*) filter (where year = ? and half = ?) from marts.trade_half_year",
        [half.year, half.half],
    ).fetchall()
    if not known:
        raise UserError(
            f"period {half.year}{half.half} has no trade in the warehouse; expected a half-year "
            f"from {first or '-'} to {last or '-'}"
        )


class StatusFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
@plain_errors
def status(
    warehouse_path: WarehouseOption = None,
    output: Annotated[StatusFormat, typer.Option("--format")] = StatusFormat.text,
) -> None:
    """What the published warehouse holds, and which releases are quarantined and why.
    Exits 3 when nothing is published yet."""
    from customs_etl.validate import quarantine

    settings = get_settings(warehouse_path=warehouse_path)
    loaded: dict[str, dt.datetime] = {}
    facts: dict[str, object] | None = None
    try:
        con = _open_published(settings)
    except guard.NoWarehouseError:
        con = None
    if con is not None:
        try:
            facts = status_facts(con)
            loaded = loaded_source_names(con)
        finally:
            con.close()
    reports = quarantine.read_reports(settings.quarantine_dir)
    open_reports = [
        r for r in reports if r.source_name not in loaded or loaded[r.source_name] <= _utc(r)
    ]
    quarantined = [
        {
            "source_name": r.source_name,
            "release_id": r.release_id,
            "summary": r.summary(),
            "report": str(settings.quarantine_dir / f"{r.release_id}.md"),
        }
        for r in open_reports
    ]
    if output is StatusFormat.json:
        document = {
            "warehouse": backend.name(settings),
            "published": facts is not None,
            "version": backend.current_version(settings) if facts is not None else None,
            **(facts or {}),
            "quarantined": quarantined,
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
    else:
        if facts is None:
            _say(f"No warehouse published at {backend.name(settings)} yet.")
        else:
            _say(describe_facts(facts))
        _say(f"\n{len(quarantined)} release(s) quarantined:")
        for entry in quarantined:
            _say(f"  {entry['summary']}")
            _say(f"    report: {entry['report']}")
    if facts is None:
        raise typer.Exit(guard.EXIT_NO_WAREHOUSE)


@app.command()
@plain_errors
def rollback(
    to: Annotated[
        str | None,
        typer.Option(help="A version as `--list` names it (default: the newest kept version)."),
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="Only list kept versions.")] = False,
    warehouse_path: WarehouseOption = None,
) -> None:
    """Publish an earlier version of the warehouse again (atomically; the current one is kept)."""
    settings = get_settings(warehouse_path=warehouse_path)
    versions = backend.list_versions(settings)
    if list_only:
        for version in versions:
            _say(version)
        return
    where = backend.name(settings)
    if not versions:
        raise UserError(f"no kept versions of {where}; expected an earlier published run")
    chosen = versions[0] if to is None else backend.kept_version(settings, versions, to)
    if chosen is None:
        raise UserError(
            f"--to {to!r} is not a kept version of {where}; expected a name from "
            f"`customs-etl rollback --list` (e.g. {', '.join(versions[:3])})"
        )
    with backend.run_lock(settings):
        rebuilt = backend.rollback(settings, chosen)
    again = f" (rebuilt from its releases as {rebuilt})" if rebuilt and rebuilt != chosen else ""
    _say(f"Published {chosen} again as {where}{again}.")


class ExportFormat(StrEnum):
    parquet = "parquet"


@app.command()
@plain_errors
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write one Parquet file per mart.")],
    file_format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.parquet,
    warehouse_path: WarehouseOption = None,
) -> None:
    """Write every mart as Parquet, for tools that read files (each file whole or not at all;
    an earlier export's files of the same names are replaced)."""
    settings = get_settings(warehouse_path=warehouse_path)
    _published(settings)
    guard.output_folder(directory, _protected(settings))
    written = backend.export_marts(
        settings,
        directory,
        check=lambda target: guard.output_file(target, _protected(settings), may_replace=True),
    )
    for file in written:
        _say(str(file))


@app.command()
@plain_errors
def docs() -> None:
    """Regenerate the marts reference in warehouse/README.md from sql/marts/*.yml."""
    from customs_etl.publish import docs as marts_docs

    settings = get_settings()
    readme = settings.project_dir / "warehouse" / "README.md"
    changed = marts_docs.update_readme(readme, settings.sql_dir)
    _say(f"{readme}: {'updated' if changed else 'up to date'}")


@contextlib.contextmanager
def _job_log(stream: Console) -> Iterator[None]:
    """The job's log (steps, releases found, quarantines) on stderr, above the progress bar."""
    from rich.logging import RichHandler

    logger = logging.getLogger("customs_etl")
    handler = RichHandler(console=stream, show_path=False, markup=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _run_job(settings: Settings, **request: object) -> None:
    """The job itself, in this process: no Prefect server is started for a run by hand (the
    scheduled runs are Prefect's, through flows/build_warehouse.py)."""
    from customs_etl.job import run_job

    run = run_job
    if settings.dask_address:  # parsing and validation on the cluster: Prefect's DaskTaskRunner
        from flows.compute import run_flow as run  # type: ignore[assignment]
    try:
        with progress.rich_bar(errors), _job_log(errors):
            summary = run(settings, **request)  # type: ignore[arg-type]
    except (
        RejectedReleasesError,
        DiskFullError,
        RunInProgressError,
        ClusterUnavailableError,
        LakeError,
    ) as error:
        # The run's summary is in the message; the reason on its last line.
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(summary.text(), markup=False, highlight=False)


def _protected(settings: Settings) -> guard.Protected:
    return guard.Protected.of(settings)


def _published(settings: Settings) -> Path | None:
    """The embedded file, checked to be a published DuckDB database (exit 3 when there is
    none yet); None on the lake, whose reader says the same (LakeNotBuiltError)."""
    if backend.is_lake(settings):
        return None
    return guard.published_database(settings.warehouse_path)


def _open_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    path = _published(settings)
    if path is None:
        return backend.open_reader(settings)
    try:
        return connect(path, read_only=True)
    except duckdb.Error as error:
        raise guard.explain_database_error(path, error) from None


@contextlib.contextmanager
def _query_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published warehouse for ad-hoc SQL (adhoc.query_connection; the lake's locked-down
    reader); DuckDB's refusal to open it (a writer holds it, ...) as one line. Query errors
    are already lines (adhoc.run)."""
    path = _published(settings)
    if path is None:
        con = backend.open_reader(settings)
        try:
            yield con
        finally:
            con.close()
        return
    spill = (settings.sql_spill_dir, settings.sql_max_spill, settings.sql_memory_limit)
    try:
        with adhoc.query_connection(path, *spill) as con:
            yield con
    except duckdb.Error as error:
        raise guard.explain_database_error(path, error) from None


def _print_half_years(warehouse_path: Path | None, partner: str) -> None:
    con = _open_published(get_settings(warehouse_path=warehouse_path))
    try:
        columns, rows = report_text.half_year_table(con, partner)
        revised = report_text.revisions_text(con, partner, None)
    finally:
        con.close()
    _say(f"\nChina's trade with {partner} by half-year (US dollars):")
    _print_result(adhoc.Result(columns, rows), OutputFormat.table)
    if revised:
        _say(revised)


def _print_result(
    result: adhoc.Result, output: OutputFormat, *, spreadsheet_safe: bool = False
) -> None:
    if output is OutputFormat.csv:
        sys.stdout.write(adhoc.as_csv(result, for_spreadsheets=spreadsheet_safe))
    elif output is OutputFormat.json:
        sys.stdout.write(adhoc.as_json(result))
    else:
        # Text objects: a cell is shown as it is, never read as Rich markup.
        table = Table()
        for column in result.columns:
            table.add_column(Text(column))
        for row in result.rows:
            table.add_row(
                *(
                    Text(adhoc.text_value(v, k, group_thousands=True))
                    for k, v in zip(result.columns, row, strict=True)
                )
            )
        # Wide enough for the marts' columns even when the output is piped (80 by default).
        Console(width=max(console.width, 180)).print(table)


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path.resolve())


if __name__ == "__main__":
    app()
