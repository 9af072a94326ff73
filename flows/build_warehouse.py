"""The main job: extract release files, transform (Polars), validate (Great Expectations), load
(DuckDB), rebuild the marts and publish the warehouse. Tasks only wire plain functions together."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from customs_etl import pipeline, progress, quarantine, warehouse
from customs_etl.errors import ReleaseError
from customs_etl.releases import (
    ReleaseFile,
    TradeFlow,
    describe_release,
    discover_release_files,
    sha256_file,
)
from customs_etl.settings import Settings, get_settings
from flows.artifacts import publish_run_artifacts


@dataclass
class RunSummary:
    run_id: str
    warehouse_path: str
    releases_seen: int = 0
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    rows_loaded: int = 0
    published: bool = False
    data_docs: str | None = None
    quarantine_dir: str | None = None

    def text(self) -> str:
        lines = [
            f"{self.releases_seen} release file(s) seen: {len(self.loaded)} loaded "
            f"({self.rows_loaded:,} rows), {len(self.skipped)} already loaded, "
            f"{len(self.rejected)} rejected."
        ]
        lines += [f"  quarantined {name}: {why}" for name, why in self.rejected.items()]
        if self.rejected:
            lines.append(f"Quarantine reports: {self.quarantine_dir}")
        if self.data_docs:
            lines.append(f"Data Docs: {Path(self.data_docs).as_uri()}")
        lines.append(
            f"Published {self.warehouse_path}." if self.published else "Warehouse unchanged."
        )
        return "\n".join(lines)


class DiskFullError(RuntimeError):
    """The build ran out of space; the published warehouse was not touched."""


@contextlib.contextmanager
def _disk_full_is_explained(published: Path) -> Iterator[None]:
    """Turn "no space left" from the OS or DuckDB into one clear message, and free the space
    the unfinished build took."""
    try:
        yield
    except (OSError, duckdb.Error) as error:
        full = getattr(error, "errno", None) == errno.ENOSPC or "No space left" in str(error)
        if not full:
            raise
        build = warehouse.build_path_for(published)
        build.unlink(missing_ok=True)
        raise DiskFullError(
            f"the disk holding {published.parent} is full: the run stopped while building "
            f"{build.name} ({error}). The published warehouse {published.name} is unchanged; "
            "free some space and run again."
        ) from error


class RejectedReleasesError(RuntimeError):
    """Raised at the end of a run that loaded what it could but rejected some files."""


def _connect(build: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    return warehouse.connect(
        build, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
    )


def _release_cache_key(_: TaskRunContext, parameters: dict[str, object]) -> str:
    release = parameters["release"]
    assert isinstance(release, ReleaseFile)
    return f"stage-{release.release_id}-v{pipeline.STAGING_VERSION}"


@task(name="discover-releases", cache_policy=NO_CACHE)
def discover_releases(
    landing_dir: Path | None, files: list[Path] | None, trade_flow: TradeFlow | None
) -> tuple[list[ReleaseFile], dict[Path, ReleaseError]]:
    """Checksum every release file; files whose flow cannot be known are set aside with why."""
    logger = get_run_logger()
    paths = files if files is not None else discover_release_files(landing_dir)  # type: ignore[arg-type]
    releases: list[ReleaseFile] = []
    unusable: dict[Path, ReleaseError] = {}
    for path in paths:
        try:
            releases.append(describe_release(path, landing_dir=landing_dir, flow=trade_flow))
        except ReleaseError as error:
            unusable[path] = error
    logger.info("Found %d release file(s), %d unusable", len(releases), len(unusable))
    return releases, unusable


@task(name="stage-release", cache_key_fn=_release_cache_key, persist_result=True)
def stage_release(release: ReleaseFile, settings: Settings) -> pipeline.StagedRelease:
    staged = pipeline.stage_release(release, settings.staging_dir, settings.seeds_dir)
    get_run_logger().info(
        "Staged %s: %d rows, %s %s, HS%d, %s",
        release.source_name,
        staged.row_count,
        staged.period[:7],
        release.flow,
        staged.hs_level,
        staged.dialect,
    )
    return staged


@task(name="validate-releases", cache_policy=NO_CACHE)
def validate_releases(
    batch: list[pipeline.StagedRelease], settings: Settings
) -> dict[str, list[quarantine.Finding]]:
    """Per release id: nothing when it passed; otherwise what a person needs to fix it."""
    outcomes = pipeline.validate_staged_batch(batch, settings.seeds_dir, settings.expectations_dir)
    return {
        release_id: [] if outcome.success else quarantine.from_validation(outcome)
        for release_id, outcome in outcomes.items()
    }


@task(name="build-data-docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings) -> Path:
    from customs_etl.validation import build_data_docs as build

    index = build(settings.expectations_dir)
    get_run_logger().info("Data Docs of this run's validations: %s", index.as_uri())
    return index


@task(name="load-releases", cache_policy=NO_CACHE)
def load_releases(
    batch: list[pipeline.StagedRelease], build: Path, settings: Settings
) -> dict[str, int | ReleaseError]:
    """Each release in its own transaction, over one connection: rows loaded, or why not."""
    outcomes: dict[str, int | ReleaseError] = {}
    con = _connect(build, settings)
    try:
        for staged in batch:
            try:
                outcomes[staged.release.release_id] = warehouse.load_release(
                    con, staged.path, staged.record()
                )
            except ReleaseError as error:
                outcomes[staged.release.release_id] = error
    finally:
        con.close()
    rows = sum(v for v in outcomes.values() if isinstance(v, int))
    get_run_logger().info("Loaded %d release(s): %d rows", len(batch), rows)
    return outcomes


@task(name="quarantine-release", cache_policy=NO_CACHE)
def quarantine_release(
    build: Path,
    record: warehouse.ReleaseRecord,
    report: quarantine.QuarantineReport,
    settings: Settings,
) -> Path:
    """Refuse a release: its file stays as received, the registry and a report say why."""
    con = _connect(build, settings)
    try:
        warehouse.record_release(con, record)
    finally:
        con.close()
    markdown = quarantine.write_report(settings.quarantine_dir, report)
    get_run_logger().error("Quarantined %s (report %s)", report.summary(), markdown)
    return markdown


@task(name="build-marts", cache_policy=NO_CACHE)
def build_marts(build: Path, settings: Settings, summary: RunSummary, started: dt.datetime) -> None:
    con = _connect(build, settings)
    try:
        built = warehouse.build_models(con, settings.sql_dir, settings.seeds_dir)
        warehouse.record_run(con, _run_row(summary, started))
    finally:
        con.close()
    get_run_logger().info("Built %d models: %s", len(built), ", ".join(built))


@task(name="publish-warehouse", cache_policy=NO_CACHE)
def publish_warehouse(build: Path, settings: Settings) -> dict[str, int]:
    published = settings.warehouse_path
    counts = warehouse.publish(build, published, settings.keep_versions)
    get_run_logger().info("Published %s: %s", published, counts)
    return counts


@flow(name="build-warehouse", log_prints=True)
def build_warehouse(
    landing_dir: str | None = None,
    warehouse_path: str | None = None,
    files: list[str] | None = None,
    trade_flow: TradeFlow | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> RunSummary:
    """Load every new release from the landing folder (or the given files) and publish.

    `period_from`/`period_to` (YYYY-MM, inclusive; a backfill) keep only the files under a
    `YYYY-MM` folder in that range (`<flow>/<YYYY-MM>/<file>`); other files are left out."""
    for bound in (period_from, period_to):
        if bound is not None and not _MONTH.fullmatch(bound):
            raise ValueError(f"period {bound!r}: expected a month as YYYY-MM")
    settings = get_settings(landing_dir=landing_dir, warehouse_path=warehouse_path)
    published = settings.warehouse_path
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    summary = RunSummary(
        run_id=str(uuid.uuid4()),
        warehouse_path=str(published),
        quarantine_dir=str(settings.quarantine_dir),
    )
    with warehouse.run_lock(published):
        paths = [Path(f) for f in files] if files is not None else None
        landing = None if paths is not None else settings.landing_dir
        releases, unusable = discover_releases(landing, paths, trade_flow)
        if period_from or period_to:
            releases, unusable = _within(releases, unusable, period_from, period_to)
        summary.releases_seen = len(releases) + len(unusable)
        summary.rejected |= {str(path): error.message() for path, error in unusable.items()}
        already = warehouse.loaded_release_ids(published)
        new = [r for r in releases if r.release_id not in already]
        summary.skipped = [r.source_name for r in releases if r.release_id in already]
        if new or unusable:
            with _disk_full_is_explained(settings.warehouse_path):
                _load_and_publish(new, unusable, settings, summary, started)
    print(summary.text())
    if summary.published:
        publish_run_artifacts(summary, published)
    if summary.rejected:
        raise RejectedReleasesError(summary.text())
    return summary


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _within(
    releases: list[ReleaseFile],
    unusable: dict[Path, ReleaseError],
    period_from: str | None,
    period_to: str | None,
) -> tuple[list[ReleaseFile], dict[Path, ReleaseError]]:
    """The files whose innermost `YYYY-MM` folder is in the range (bounds inclusive)."""

    def keep(relative: str) -> bool:
        months = [part for part in Path(relative).parts[:-1] if _MONTH.fullmatch(part)]
        month = months[-1] if months else None
        return month is not None and (period_from or month) <= month <= (period_to or month)

    kept = [r for r in releases if keep(r.source_name)]
    kept_unusable = {path: e for path, e in unusable.items() if keep(e.file)}
    left_out = len(releases) + len(unusable) - len(kept) - len(kept_unusable)
    print(f"Periods {period_from or '...'} to {period_to or '...'}: {left_out} file(s) left out.")
    return kept, kept_unusable


def clear_validation_results(expectations_dir: Path) -> None:
    from customs_etl.validation import clear_results

    clear_results(expectations_dir)


def _load_and_publish(
    new: list[ReleaseFile],
    unusable: dict[Path, ReleaseError],
    settings: Settings,
    summary: RunSummary,
    started: dt.datetime,
) -> None:
    build = warehouse.start_build(settings.warehouse_path)
    con = _connect(build, settings)
    warehouse.prepare_schema(con, settings.sql_dir)
    con.close()
    for path, error in unusable.items():
        release_id = sha256_file(path)
        record = pipeline.rejected_record(
            release_id, error.file, path.stat().st_size, error.message()
        )
        report = quarantine.new_report(
            release_id, error.file, path, "extract", quarantine.from_release_error(error)
        )
        quarantine_release(build, record, report, settings)
    clear_validation_results(settings.expectations_dir)
    progress.current().start(len(new), "releases: stage")
    parsed = []
    for release in new:
        if (staged := _stage(release, build, settings, summary)) is not None:
            parsed.append(staged)
        progress.current().advance(release.source_name)
    passed = _validate(parsed, build, settings, summary)
    outcomes = load_releases(passed, build, settings)
    for staged in passed:
        outcome = outcomes[staged.release.release_id]
        if isinstance(outcome, ReleaseError):
            findings = quarantine.from_release_error(outcome)
            _reject(build, staged.release, "load", findings, settings, summary)
        else:
            summary.rows_loaded += outcome
            summary.loaded.append(staged.release.source_name)
    summary.data_docs = str(build_data_docs(settings))
    if not summary.loaded:
        # Nothing new passed: keep the published warehouse exactly as it is.
        warehouse.build_path_for(settings.warehouse_path).unlink(missing_ok=True)
        return
    build_marts(build, settings, summary, started)
    publish_warehouse(build, settings)
    summary.published = True


def _stage(
    release: ReleaseFile, build: Path, settings: Settings, summary: RunSummary
) -> pipeline.StagedRelease | None:
    """The staged release; None when it was quarantined."""
    try:
        return stage_release.with_options(
            refresh_cache=not pipeline.staged_path(settings.staging_dir, release).exists()
        )(release, settings)
    except ReleaseError as error:
        findings = quarantine.from_release_error(error)
        _reject(build, release, "transform", findings, settings, summary)
        return None


def _validate(
    staged: list[pipeline.StagedRelease], build: Path, settings: Settings, summary: RunSummary
) -> list[pipeline.StagedRelease]:
    """The releases that passed, in their order (which decides who delivered a row first);
    the others are quarantined. One task run (and one GX run) per HS level and currency, up
    to validation.MAX_BATCH_ROWS rows."""
    failed: set[str] = set()
    for batch in pipeline.validation_batches(staged):
        findings = validate_releases(batch, settings)
        for one in batch:
            if found := findings[one.release.release_id]:
                _reject(build, one.release, "validate", found, settings, summary)
                failed.add(one.release.release_id)
    return [s for s in staged if s.release.release_id not in failed]


def _reject(
    build: Path,
    release: ReleaseFile,
    stage: str,
    findings: list[quarantine.Finding],
    settings: Settings,
    summary: RunSummary,
) -> None:
    why = "; ".join(f.message for f in findings)
    record = pipeline.rejected_record(
        release.release_id, release.source_name, release.size_bytes, why, release.flow
    )
    report = quarantine.new_report(
        release.release_id, release.source_name, release.path, stage, findings
    )
    quarantine_release(build, record, report, settings)
    summary.rejected[release.source_name] = why


def _run_row(summary: RunSummary, started: dt.datetime) -> dict[str, object]:
    return {
        "run_id": summary.run_id,
        "started_at": started,
        "finished_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "status": "completed_with_rejections" if summary.rejected else "completed",
        "releases_seen": summary.releases_seen,
        "releases_loaded": len(summary.loaded),
        "releases_skipped": len(summary.skipped),
        "releases_rejected": len(summary.rejected),
        "rows_loaded": summary.rows_loaded,
    }
