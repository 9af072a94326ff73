"""`customs-etl`: run the job, ingest files, query and report on the published warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from customs_etl import backend, progress
from customs_etl.errors import (
    ClusterUnavailableError,
    DiskFullError,
    RejectedReleasesError,
    RunInProgressError,
)
from customs_etl.load.connection import connect
from customs_etl.load.lake import LakeError
from customs_etl.load.registry import loaded_source_names
from customs_etl.publish.status import describe
from customs_etl.report import text as report_text
from customs_etl.settings import Settings, get_settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)
# Errors go to stderr unwrapped, so a path in a message stays whole for copy and grep.
errors = Console(stderr=True, soft_wrap=True)

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
    settings = _existing(get_settings(warehouse_path=warehouse_path))
    try:
        target, read_at = backend.build_as_of(settings, day, out, snapshot)
    except (ValueError, LakeError) as error:
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from error
    con = connect(target, read_only=True)
    try:
        [(latest,)] = con.execute(
            "select strftime(max(period_end), '%Y-%m') from marts.trade_monthly"
        ).fetchall()
    finally:
        con.close()
    source = "" if read_at is None else f", from lake snapshot {read_at}"
    console.print(f"Marts as of {day}: {target} (latest month {latest or 'none'}{source}).")


def _utc(report: object) -> dt.datetime:
    """When a report was written, naive UTC like meta.releases' timestamps."""
    when = dt.datetime.fromisoformat(report.quarantined_at)  # type: ignore[attr-defined]
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r}: expected a date as YYYY-MM-DD") from error


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Release files to load, from anywhere.")],
    flow: Annotated[FlowChoice, typer.Option("--flow", help="China's import or export.")],
    warehouse_path: WarehouseOption = None,
) -> None:
    """Load release files given by path (a query export has no flow column: say which)."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}")
    paths = [f.resolve() for f in files]
    settings = get_settings(warehouse_path=warehouse_path)
    _run_job(settings, files=paths, trade_flow=flow.value)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run, read-only.")],
    warehouse_path: WarehouseOption = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Run a query on the published warehouse, opened read-only with external access off."""
    con = _open_published(warehouse_path)
    try:
        frame = con.execute(query).pl()
    except duckdb.Error as error:
        # A refused write reads "read-only mode"; a typo, the parser's message: no traceback.
        errors.print(f"[red]{type(error).__name__}: {error}[/red]")
        raise typer.Exit(1) from error
    finally:
        con.close()
    _print_frame(frame, output)


@app.command()
def shell(warehouse_path: WarehouseOption = None) -> None:
    """Interactive read-only SQL on the published warehouse (end a statement with ';')."""
    con = _open_published(warehouse_path)
    console.print("Read-only SQL on the marts; `.tables` lists them, Ctrl-D ends.")
    buffer = ""
    try:
        while True:
            try:
                line = input("customs> " if not buffer else "    ...> ")
            except EOFError:
                break
            buffer = f"{buffer}\n{line}".strip()
            if buffer == ".tables":
                buffer = (
                    "select table_schema, table_name from information_schema.tables order by 1, 2;"
                )
            if buffer.endswith(";"):
                _run_interactive(con, buffer)
                buffer = ""
    finally:
        con.close()


def _run_interactive(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    try:
        _print_frame(con.execute(statement).pl(), OutputFormat.table)
    except duckdb.Error as error:
        errors.print(f"[red]{error}[/red]")


@app.command(name="report")
def report_command(
    partner: Annotated[str, typer.Option(help="ISO 3166 alpha-3 code, e.g. PRK.")] = "PRK",
    period: Annotated[str, typer.Option(help="Half-year, e.g. 2025H1.")] = "2025H1",
    warehouse_path: WarehouseOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the HTML report and PNG (reports/).")
    ] = None,
) -> None:
    """The article's paragraph from the marts, and an HTML report with charts and its PNG."""
    from customs_etl.report.html import write_html_report  # matplotlib only when reporting

    half = report_text.HalfYear.parse(period)
    con = _open_published(warehouse_path)
    try:
        console.print(report_text.article(con, partner.upper(), half), highlight=False)
        sanctions = report_text.sanctions_section(con, partner.upper(), half)
        console.print(sanctions, highlight=False, markup=False)
        out_dir = out or get_settings().project_dir / "reports"
        files = write_html_report(con, partner.upper(), half, out_dir)
    finally:
        con.close()
    console.print(str(files.html), highlight=False)
    console.print(str(files.png), highlight=False)


@app.command()
def status(warehouse_path: WarehouseOption = None) -> None:
    """What the published warehouse holds, and which releases are quarantined and why."""
    from customs_etl.validate import quarantine

    settings = get_settings(warehouse_path=warehouse_path)
    loaded: dict[str, dt.datetime] = {}
    if backend.exists(settings):
        con = backend.open_reader(settings)
        try:
            console.print(describe(con))
            loaded = loaded_source_names(con)
        finally:
            con.close()
    else:
        console.print(f"No warehouse published at {backend.name(settings)} yet.")
    reports = quarantine.read_reports(settings.quarantine_dir)
    open_reports = [
        r for r in reports if r.source_name not in loaded or loaded[r.source_name] <= _utc(r)
    ]
    console.print(f"\n{len(open_reports)} release(s) quarantined:")
    for entry in open_reports:
        console.print(f"  {entry.summary()}", highlight=False)
        console.print(f"    report: {settings.quarantine_dir / entry.release_id}.md")


@app.command()
def rollback(
    to: Annotated[
        str | None, typer.Option(help="Version file name (default: the newest kept version).")
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="Only list kept versions.")] = False,
    warehouse_path: WarehouseOption = None,
) -> None:
    """Publish an earlier version of the warehouse again (atomically; the current one is kept)."""
    settings = get_settings(warehouse_path=warehouse_path)
    versions = backend.list_versions(settings)
    if list_only or not versions:
        for version in versions:
            console.print(version, highlight=False)
        if not versions:
            errors.print(f"No kept versions of {backend.name(settings)}.")
            raise typer.Exit(0 if list_only else 1)
        return
    chosen = versions[0] if to is None else to
    try:
        with backend.run_lock(settings):
            backend.rollback(settings, chosen)
    except (FileNotFoundError, ValueError, LakeError, RunInProgressError) as error:
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from error
    console.print(f"Published {chosen} again as {backend.name(settings)}.", highlight=False)


class ExportFormat(StrEnum):
    parquet = "parquet"


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write one Parquet file per mart.")],
    file_format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.parquet,
    warehouse_path: WarehouseOption = None,
) -> None:
    """Write every mart as Parquet, for tools that read files."""
    settings = get_settings(warehouse_path=warehouse_path)
    written = backend.export_marts(_existing(settings), directory)
    for file in written:
        console.print(str(file))


@app.command()
def docs() -> None:
    """Regenerate the marts reference in warehouse/README.md from sql/marts/*.yml."""
    from customs_etl.publish import docs as marts_docs

    settings = get_settings()
    readme = settings.project_dir / "warehouse" / "README.md"
    changed = marts_docs.update_readme(readme, settings.sql_dir)
    console.print(f"{readme}: {'updated' if changed else 'up to date'}")


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
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from error
    console.print(summary.text(), markup=False, highlight=False)


def _open_published(warehouse_path: Path | None) -> duckdb.DuckDBPyConnection:
    settings = _existing(get_settings(warehouse_path=warehouse_path))
    try:
        return backend.open_reader(settings)
    except LakeError as error:
        errors.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from error


def _existing(settings: Settings) -> Settings:
    """The settings, if the warehouse they name has been published; else one line and exit 2."""
    if not backend.exists(settings):
        where = backend.name(settings)
        errors.print(f"No warehouse at {where}: run `customs-etl run` first.", markup=False)
        raise typer.Exit(2)
    return settings


def _print_half_years(warehouse_path: Path | None, partner: str) -> None:
    con = _open_published(warehouse_path)
    try:
        frame = report_text.half_year_table(con, partner)
        revised = report_text.revisions_text(con, partner, None)
    finally:
        con.close()
    console.print(f"\nChina's trade with {partner} by half-year (US dollars):")
    _print_frame(frame, OutputFormat.table)
    if revised:
        console.print(revised, highlight=False)


def _print_frame(frame: pl.DataFrame, output: OutputFormat) -> None:
    if output is OutputFormat.csv:
        sys.stdout.write(frame.write_csv())
    elif output is OutputFormat.json:
        sys.stdout.write(frame.write_json() + "\n")
    else:
        table = Table(*frame.columns)
        for row in frame.iter_rows(named=True):
            table.add_row(*("" if v is None else _cell(k, v) for k, v in row.items()))
        # Wide enough for the marts' columns even when the output is piped (80 by default).
        Console(width=max(console.width, 180)).print(table)


def _cell(column: str, value: object) -> str:
    """Money with thousands separators; years and codes as they are."""
    whole = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if whole and "value" in column and value == int(value):  # type: ignore[arg-type]
        return f"{int(value):,}"  # type: ignore[arg-type]
    return str(value)


if __name__ == "__main__":
    app()
