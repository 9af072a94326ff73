"""The main job: extract release files, transform (Polars), validate (Great Expectations), load
(DuckDB), rebuild the marts and publish the warehouse. Tasks only wire plain functions together."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from customs_etl import progress
from customs_etl.errors import ReleaseError
from customs_etl.extract import fetch
from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import (
    ReleaseFile,
    TradeFlow,
    discover_release_files,
    sha256_file,
)
from customs_etl.load import warehouse
from customs_etl.settings import Settings, get_settings
from customs_etl.transform import parse
from customs_etl.validate import quarantine
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
    warnings: list[str] = field(default_factory=list)
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
        lines += [f"  warning: {warning}" for warning in self.warnings]
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
    return f"stage-{release.release_id}-v{parse.STAGING_VERSION}"


def _releases_cache_key(_: TaskRunContext, parameters: dict[str, object]) -> str:
    releases = parameters["releases"]
    assert isinstance(releases, list)
    checksums = hashlib.sha256("".join(r.release_id for r in releases).encode()).hexdigest()
    return f"stage-many-{checksums}-v{parse.STAGING_VERSION}"


@task(name="discover-releases", cache_policy=NO_CACHE)
def discover_releases(
    landing_dir: Path | None,
    files: list[Path] | None,
    trade_flow: TradeFlow | None,
    landing_zone: Path,
    workers: int = 1,
) -> tuple[list[ReleaseFile], dict[Path, ReleaseError]]:
    """Checksum every release file and keep it in the landing zone, `workers` files at a time
    (hashing and copying release the GIL); files whose flow cannot be known are set aside with
    why. The releases keep the order of their files."""
    logger = get_run_logger()
    zone = LandingZone(landing_zone)
    paths = files if files is not None else discover_release_files(landing_dir)  # type: ignore[arg-type]
    # The zone may sit inside the drop folder (a warehouse beside its landing): not a drop.
    paths = [p for p in paths if not p.resolve().is_relative_to(landing_zone.resolve())]

    def keep(path: Path) -> ReleaseFile | ReleaseError:
        try:
            # Not re-read when unchanged since the zone last hashed it (size, times, inode).
            release = zone.describe(path, landing_dir=landing_dir, flow=trade_flow)
            # Kept under its checksum before anything reads it: processing reads the kept copy.
            return zone.receive(release)
        except ReleaseError as error:
            return error

    with ThreadPoolExecutor(workers) as pool:
        kept = list(zip(paths, pool.map(keep, paths), strict=True))
    releases = [r for _, r in kept if isinstance(r, ReleaseFile)]
    unusable = {path: e for path, e in kept if isinstance(e, ReleaseError)}
    logger.info("Found %d release file(s), %d unusable", len(releases), len(unusable))
    return releases, unusable


def _retrying(task_fn: Task, settings: Settings) -> Task:
    """Retries with exponential backoff, on timeouts, dropped connections, 429 and 5xx only."""
    delays = [
        fetch.backoff_delay(attempt, backoff_base=settings.fetch_backoff_seconds)
        for attempt in range(1, settings.fetch_attempts)
    ]
    return task_fn.with_options(
        retries=len(delays),
        retry_delay_seconds=delays,
        retry_jitter_factor=0.5,
        retry_condition_fn=fetch.retry_condition,
    )


@task(name="fetch-index-page", cache_policy=NO_CACHE)
def fetch_index_page(url: str, settings: Settings) -> list[str]:
    with fetch.make_client(timeout=settings.fetch_timeout_seconds) as client:
        urls = fetch.table_urls_from_index(
            url, client=client, timeout=settings.fetch_timeout_seconds
        )
    get_run_logger().info("%s links to %d preliminary table(s)", url, len(urls))
    return urls


@task(name="fetch-preliminary-table", cache_policy=NO_CACHE)
def fetch_preliminary_table(url: str, settings: Settings) -> ReleaseFile:
    """Fetched (or unchanged since the last fetch) and kept in the landing zone."""
    zone = LandingZone(settings.landing_zone)
    with fetch.make_client(timeout=settings.fetch_timeout_seconds) as client:
        release = fetch.fetch_to_landing_zone(
            url, zone, client=client, timeout=settings.fetch_timeout_seconds
        )
    get_run_logger().info("Fetched %s: release %s", url, release.short_id)
    return release


def fetch_sources(settings: Settings) -> list[ReleaseFile]:
    """The configured preliminary tables, pages and index pages: every page kept in the
    landing zone. A source that stays down after the retries fails the run before anything
    is built, so the published warehouse is untouched."""
    urls = list(settings.preliminary_urls)
    for index_url in settings.preliminary_index_urls:
        urls += _retrying(fetch_index_page, settings)(index_url, settings)
    return [
        _retrying(fetch_preliminary_table, settings)(url, settings) for url in dict.fromkeys(urls)
    ]


@task(name="stage-release", cache_key_fn=_release_cache_key, persist_result=True)
def stage_release(release: ReleaseFile, settings: Settings) -> parse.StagedRelease:
    staged = parse.stage_release(
        release, settings.staging_dir, settings.seeds_dir, settings.max_release_bytes
    )
    _log_staged(staged, get_run_logger())
    return staged


@task(name="stage-releases", cache_key_fn=_releases_cache_key, persist_result=True)
def stage_releases(
    releases: list[ReleaseFile], settings: Settings
) -> list[parse.StagedRelease | ReleaseError]:
    """Many files, `stage_workers` at a time (Polars parses outside the GIL): per file, the
    staged release or why it cannot be staged (the flow quarantines it; the others go on)."""
    logger = get_run_logger()  # the pool's threads do not carry the task run's context

    def stage_one(release: ReleaseFile) -> parse.StagedRelease | ReleaseError:
        try:
            staged = parse.stage_release(
                release, settings.staging_dir, settings.seeds_dir, settings.max_release_bytes
            )
        except ReleaseError as error:
            return error
        _log_staged(staged, logger)
        return staged

    with ThreadPoolExecutor(settings.stage_workers) as pool:
        return list(pool.map(stage_one, releases))


def _log_staged(staged: parse.StagedRelease, logger: logging.LoggerAdapter) -> None:
    release = staged.release
    shape = f"HS{staged.hs_level}" if staged.hs_level else f"{staged.months_covered} month(s)"
    logger.info(
        "Staged %s: %d rows, %s %s, %s, %s %s",
        release.source_name,
        staged.row_count,
        staged.period[:7],
        release.flow or "both flows",
        shape,
        staged.currency,
        staged.dialect,
    )
    return staged


@task(name="validate-preliminary-table", cache_policy=NO_CACHE)
def validate_preliminary_table(
    staged: parse.StagedRelease, settings: Settings, build: Path
) -> list[quarantine.Finding]:
    """Nothing when the table passes; otherwise what a person needs to fix it. It is checked
    against the neighbouring months already in the build."""
    con = warehouse.connect(build, read_only=True)
    try:
        period = dt.date.fromisoformat(staged.period)
        neighbours = warehouse.headline_neighbours(con, period, staged.currency)
    finally:
        con.close()
    outcome = parse.validate_preliminary_staged(staged, settings.expectations_dir, neighbours)
    for warning in outcome.warnings:
        get_run_logger().warning("%s: %s", staged.release.source_name, warning.message())
    return [] if outcome.success else quarantine.from_validation(outcome)


@task(name="validate-releases", cache_policy=NO_CACHE)
def validate_releases(
    batch: list[parse.StagedRelease], settings: Settings
) -> dict[str, list[quarantine.Finding]]:
    """Detailed exports, many in one GX run. Per release id: nothing when it passed;
    otherwise what a person needs to fix it."""
    outcomes = parse.validate_staged_batch(batch, settings.seeds_dir, settings.expectations_dir)
    return {
        release_id: [] if outcome.success else quarantine.from_validation(outcome)
        for release_id, outcome in outcomes.items()
    }


@task(name="cross-check-preliminary", cache_policy=NO_CACHE)
def cross_check_preliminary(build: Path, settings: Settings) -> list[str]:
    """Detailed totals against the preliminary tables (marts.preliminary_cross_check): each
    disagreement is a warning with both figures; nothing is refused or averaged."""
    from customs_etl.validate.expectations import validate_cross_check

    con = warehouse.connect(build, read_only=True)
    try:
        frame = con.execute("select * from marts.preliminary_cross_check").pl()
    finally:
        con.close()
    if frame.is_empty():
        return []
    validate_cross_check(frame, settings.expectations_dir)  # for the Data Docs
    warnings = parse.cross_check_warnings(frame)
    for warning in warnings:
        get_run_logger().warning("Cross-check: %s", warning)
    return warnings


@task(name="build-data-docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings) -> Path:
    from customs_etl.validate.expectations import build_data_docs as build

    index = build(settings.expectations_dir)
    get_run_logger().info("Data Docs of this run's validations: %s", index.as_uri())
    return index


@task(name="load-releases", cache_policy=NO_CACHE)
def load_releases(
    batch: list[parse.StagedRelease], build: Path, settings: Settings
) -> dict[str, int | ReleaseError]:
    """A month and flow's detailed exports in one transaction, other releases one by one, over
    one connection: rows loaded, or why not."""
    con = _connect(build, settings)
    try:
        outcomes = warehouse.load_releases(con, [(s.path, s.record()) for s in batch])
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
        # Incremental marts rebuild only the months of this run's releases (from the registry,
        # which also knows the months of the vintages they replace).
        touched = warehouse.touched_periods(con, summary.loaded)
        built = warehouse.build_models(
            con, settings.sql_dir, settings.seeds_dir, touched_periods=touched
        )
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
        with _disk_full_is_explained(settings.warehouse_path):
            releases, unusable = discover_releases(
                landing, paths, trade_flow, settings.landing_zone, settings.stage_workers
            )
        if paths is None:
            releases += fetch_sources(settings)
        if period_from or period_to:
            releases, unusable = _within(releases, unusable, period_from, period_to)
        summary.releases_seen = len(releases) + len(unusable)
        summary.rejected |= {str(path): error.message() for path, error in unusable.items()}
        already = warehouse.loaded_release_ids(published)
        # The same bytes twice (two names, or a page fetched and also dropped) load once.
        unique = list({r.release_id: r for r in reversed(releases)}.values())[::-1]
        new = [r for r in unique if r.release_id not in already]
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


def warm_up_validation(settings: Settings) -> None:
    from customs_etl.validate.expectations import warm_up

    warm_up(settings.expectations_dir)


def clear_validation_results(expectations_dir: Path) -> None:
    from customs_etl.validate.expectations import clear_results

    clear_results(expectations_dir)


def _load_and_publish(
    new: list[ReleaseFile],
    unusable: dict[Path, ReleaseError],
    settings: Settings,
    summary: RunSummary,
    started: dt.datetime,
) -> None:
    clear_validation_results(settings.expectations_dir)
    # Great Expectations takes seconds of CPU to import: done while the published warehouse is
    # copied (the kernel's work) and Polars parses (outside the GIL).
    warming = threading.Thread(target=warm_up_validation, args=(settings,), daemon=True)
    warming.start()
    build = warehouse.start_build(settings.warehouse_path)
    con = _connect(build, settings)
    warehouse.prepare_schema(con, settings.sql_dir)
    con.close()
    for path, error in unusable.items():
        release_id = sha256_file(path)
        record = parse.rejected_record(release_id, error.file, path.stat().st_size, error.message())
        report = quarantine.new_report(
            release_id, error.file, path, "extract", quarantine.from_release_error(error)
        )
        quarantine_release(build, record, report, settings)
    detailed = [r for r in new if r.kind == "detailed_export"]
    progress.current().start(len(new), "releases: stage")
    parsed = _stage_detailed(detailed, build, settings, summary)
    warming.join()
    _load(_validate(parsed, build, settings, summary), build, settings, summary)
    _load_preliminary_tables(new, build, settings, summary)
    summary.data_docs = str(build_data_docs(settings))
    if not summary.loaded:
        # Nothing new passed: keep the published warehouse exactly as it is.
        warehouse.build_path_for(settings.warehouse_path).unlink(missing_ok=True)
        return
    build_marts(build, settings, summary, started)
    summary.warnings += cross_check_preliminary(build, settings)
    publish_warehouse(build, settings)
    summary.published = True


def _load(
    passed: list[parse.StagedRelease], build: Path, settings: Settings, summary: RunSummary
) -> None:
    outcomes = load_releases(passed, build, settings)
    for staged in passed:
        outcome = outcomes[staged.release.release_id]
        if isinstance(outcome, ReleaseError):
            findings = quarantine.from_release_error(outcome)
            _reject(build, staged.release, "load", findings, settings, summary)
        else:
            summary.rows_loaded += outcome
            summary.loaded.append(staged.release.source_name)


def _load_preliminary_tables(
    new: list[ReleaseFile], build: Path, settings: Settings, summary: RunSummary
) -> None:
    """Preliminary tables one at a time, oldest month and vintage first, so that each is
    checked against the months loaded before it (January-to-month never falls)."""
    tables = [r for r in new if r.kind == "preliminary_table"]
    staged_tables = []
    for release in tables:
        try:
            staged_tables.append(_stage(release, settings))
        except ReleaseError as error:
            findings = quarantine.from_release_error(error)
            _reject(build, release, "transform", findings, settings, summary)
        progress.current().advance(release.source_name)
    for staged in sorted(staged_tables, key=parse.vintage_order):
        findings = validate_preliminary_table(staged, settings, build)
        if findings:
            _reject(build, staged.release, "validate", findings, settings, summary)
        else:
            _load([staged], build, settings, summary)


# Files per stage-releases task run: a task run costs the orchestration ~10-20 ms, as much
# as parsing a 10,000-row download; cached by the checksums of its files.
FILES_PER_STAGE_TASK = 50


def _stage_detailed(
    releases: list[ReleaseFile], build: Path, settings: Settings, summary: RunSummary
) -> list[parse.StagedRelease]:
    """The staged releases in their order; the files that cannot be staged are quarantined."""
    staged: list[parse.StagedRelease] = []
    for start in range(0, len(releases), FILES_PER_STAGE_TASK):
        chunk = releases[start : start + FILES_PER_STAGE_TASK]
        cached = all(parse.staged_path(settings.staging_dir, r).exists() for r in chunk)
        outcomes = stage_releases.with_options(refresh_cache=not cached)(chunk, settings)
        for release, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, ReleaseError):
                findings = quarantine.from_release_error(outcome)
                _reject(build, release, "transform", findings, settings, summary)
            else:
                staged.append(outcome)
            progress.current().advance(release.source_name)
    return staged


def _validate(
    staged: list[parse.StagedRelease], build: Path, settings: Settings, summary: RunSummary
) -> list[parse.StagedRelease]:
    """The releases that passed, in their order (which decides who delivered a row first);
    the others are quarantined. One task run (and one GX run) per HS level and currency, up
    to validation.MAX_BATCH_ROWS rows."""
    failed: set[str] = set()
    for batch in parse.validation_batches(staged):
        findings = validate_releases(batch, settings)
        for one in batch:
            if found := findings[one.release.release_id]:
                _reject(build, one.release, "validate", found, settings, summary)
                failed.add(one.release.release_id)
    return [s for s in staged if s.release.release_id not in failed]


def _stage(release: ReleaseFile, settings: Settings) -> parse.StagedRelease:
    """Staged from the cache when its Parquet file is still there, else staged again."""
    return stage_release.with_options(
        refresh_cache=not parse.staged_path(settings.staging_dir, release).exists()
    )(release, settings)


def _reject(
    build: Path,
    release: ReleaseFile,
    stage: str,
    findings: list[quarantine.Finding],
    settings: Settings,
    summary: RunSummary,
) -> None:
    why = "; ".join(f.message for f in findings)
    record = parse.rejected_record(
        release.release_id,
        release.source_name,
        release.size_bytes,
        why,
        release.flow,
        release.kind,
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
