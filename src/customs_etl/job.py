"""The job, as one plain function: discover release files, parse them (Polars), validate them
(Great Expectations), load them (DuckDB), rebuild the marts and publish, quarantining what is
refused. `customs-etl run` and `ingest`, the tests and the benchmark call `run_job` directly;
the Prefect flow (flows/build_warehouse.py) calls it with its `Steps` wrapped as tasks, which
adds retries, caching by release checksums, logging and artifacts, and nothing else."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import duckdb

from customs_etl import backend, progress
from customs_etl.errors import DiskFullError, RejectedReleasesError, ReleaseError
from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import (
    ReleaseFile,
    TradeFlow,
    discover_release_files,
    one_per_release,
    sha256_file,
    vintage_order,
)
from customs_etl.load import registry
from customs_etl.load.connection import connect
from customs_etl.publish import build as publication
from customs_etl.report.revisions import revision_lines, revisions_by_sources
from customs_etl.settings import Settings
from customs_etl.validate import quarantine

# The modules of the work itself (polars, httpx, the parsers, the checks; Great Expectations
# is imported later still, by validate.expectations) are imported by the steps that use them:
# a run that finds nothing new needs none of them, and importing them took most of its time.
if TYPE_CHECKING:
    from customs_etl.transform import parse
    from customs_etl.validate import cross_check

log = logging.getLogger(__name__)

# Files per parse step: a Prefect task run costs ~10-20 ms, as much as parsing a 10,000-row
# download; the flow caches each step by the checksums of its files.
FILES_PER_PARSE_STEP = 50
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Rejection:
    """A release refused by a check: the file, the stage and check that refused it, and why."""

    file: str
    release_id: str
    stage: str
    check: str
    reason: str


@dataclass
class RunSummary:
    run_id: str
    warehouse_path: str
    releases_seen: int = 0
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    # The months (YYYY-MM) of the releases loaded, in load order, and the cross-check's
    # disagreements with both figures: what the flow's events say (flows/events.py).
    months_loaded: list[str] = field(default_factory=list)
    disagreements: list[cross_check.Disagreement] = field(default_factory=list)
    rows_loaded: int = 0
    warnings: list[str] = field(default_factory=list)
    published: bool = False
    data_docs: str | None = None
    quarantine_dir: str | None = None
    revisions: list[str] = field(default_factory=list)  # figures this run's releases revised

    def text(self) -> str:
        lines = [
            f"{self.releases_seen} release file(s) seen: {len(self.loaded)} loaded "
            f"({self.rows_loaded:,} rows), {len(self.skipped)} already loaded, "
            f"{len(self.rejected)} rejected."
        ]
        lines += [f"  quarantined {name}: {why}" for name, why in self.rejected.items()]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.revisions:
            lines.append(f"{len(self.revisions)} figure(s) revised (marts.trade_revisions):")
            lines += [f"  revised {line}" for line in self.revisions]
        if self.rejected:
            lines.append(f"Quarantine reports: {self.quarantine_dir}")
        if self.data_docs:
            lines.append(f"Data Docs: {Path(self.data_docs).as_uri()}")
        lines.append(
            f"Published {self.warehouse_path}." if self.published else "Warehouse unchanged."
        )
        return "\n".join(lines)


# A forward reference: parse (polars) is imported by the steps that parse.
Outcome: TypeAlias = "parse.ParsedRelease | ReleaseError"


# --- the steps: plain functions, each one unit of work the flow may run as a task ----------


def discover(
    landing_dir: Path | None,
    files: list[Path] | None,
    trade_flow: TradeFlow | None,
    settings: Settings,
) -> tuple[list[ReleaseFile], dict[Path, ReleaseError]]:
    """Checksum every release file and keep it in the landing zone, `parse_workers` files at a
    time (hashing and copying release the GIL); files whose flow cannot be known are set aside
    with why. The releases keep the order of their files."""
    zone = LandingZone(settings.landing_zone)
    paths = files if files is not None else discover_release_files(landing_dir)  # type: ignore[arg-type]
    # The zone may sit inside the drop folder (a warehouse beside its landing): not a drop.
    zone_root = settings.landing_zone.resolve()
    # A discovered file resolves inside the landing folder (discover_release_files): only when
    # that folder and the zone overlap can it be in the zone, so only then is each resolved
    # again (a run with nothing new pays for every file it has).
    if files is not None or _overlap(zone_root, landing_dir.resolve()):  # type: ignore[union-attr]
        paths = [p for p in paths if not p.resolve().is_relative_to(zone_root)]

    def keep(path: Path) -> ReleaseFile | ReleaseError:
        try:
            # Not re-read when unchanged since the zone last hashed it (size, times, inode).
            release = zone.describe(path, landing_dir=landing_dir, flow=trade_flow)
            # Kept under its checksum before anything reads it: processing reads the kept copy.
            return zone.receive(release)
        except ReleaseError as error:
            return error

    with ThreadPoolExecutor(settings.parse_workers) as pool:
        kept = list(zip(paths, pool.map(keep, paths), strict=True))
    releases = [r for _, r in kept if isinstance(r, ReleaseFile)]
    unusable = {path: e for path, e in kept if isinstance(e, ReleaseError)}
    log.info("Found %d release file(s), %d unusable", len(releases), len(unusable))
    return releases, unusable


def _overlap(one: Path, other: Path) -> bool:
    return one.is_relative_to(other) or other.is_relative_to(one)


def fetch_index(url: str, settings: Settings) -> list[str]:
    from customs_etl.extract import fetch

    with fetch.make_client(timeout=settings.fetch_timeout_seconds) as client:
        return fetch.table_urls_from_index(url, client=client, **_retry_policy(settings))


def fetch_table(url: str, settings: Settings) -> ReleaseFile:
    """Fetched (or unchanged since the last fetch) and kept in the landing zone."""
    from customs_etl.extract import fetch

    zone = LandingZone(settings.landing_zone)
    with fetch.make_client(timeout=settings.fetch_timeout_seconds) as client:
        return fetch.fetch_to_landing_zone(url, zone, client=client, **_retry_policy(settings))


def _retry_policy(settings: Settings) -> dict[str, float]:
    """The sources' one retry policy (fetch.fetch_with_retries): exponential backoff from
    CUSTOMS_FETCH_BACKOFF_SECONDS, or the server's Retry-After when longer."""
    return {
        "timeout": settings.fetch_timeout_seconds,
        "attempts": settings.fetch_attempts,
        "backoff_base": settings.fetch_backoff_seconds,
    }


def parse_one(release: ReleaseFile, settings: Settings) -> parse.ParsedRelease:
    from customs_etl.transform import parse

    return parse.parse_release(
        release, settings.parsed_dir, settings.seeds_dir, settings.max_release_bytes
    )


def parse_many(releases: list[ReleaseFile], settings: Settings) -> list[Outcome]:
    """Many files, `parse_workers` at a time (Polars parses outside the GIL): per file, the
    parsed release or why it cannot be parsed (the job quarantines it; the others go on)."""

    def one(release: ReleaseFile) -> Outcome:
        try:
            return parse_one(release, settings)
        except ReleaseError as error:
            return error

    with ThreadPoolExecutor(settings.parse_workers) as pool:
        return list(pool.map(one, releases))


def parse_chunks(chunks: list[list[ReleaseFile]], settings: Settings) -> list[list[Outcome]]:
    """Each chunk parsed by parse_many; the flow fans the chunks out over its task runner."""
    return [parse_many(chunk, settings) for chunk in chunks]


def validate_batch(
    batch: list[parse.ParsedRelease], settings: Settings
) -> dict[str, list[quarantine.Finding]]:
    """Detailed exports, many in one GX run. Per release id: nothing when it passed;
    otherwise what a person needs to fix it."""
    from customs_etl.validate import detailed

    outcomes = detailed.validate_parsed_batch(batch, settings.seeds_dir, settings.expectations_dir)
    return {
        release_id: [] if outcome.success else quarantine.from_validation(outcome)
        for release_id, outcome in outcomes.items()
    }


def validate_batches(
    groups: list[list[parse.ParsedRelease]], settings: Settings
) -> list[dict[str, list[quarantine.Finding]]]:
    """Each batch validated by validate_batch; the flow fans them out over its task runner."""
    return [validate_batch(batch, settings) for batch in groups]


def validate_preliminary(
    parsed: parse.ParsedRelease, settings: Settings, build: Path
) -> list[quarantine.Finding]:
    """Nothing when the table passes; otherwise what a person needs to fix it. It is checked
    against the neighbouring months already in the build."""
    from customs_etl.validate import preliminary_checks

    con = connect(build, read_only=True)
    try:
        period = dt.date.fromisoformat(parsed.period)
        neighbours = registry.preliminary_neighbours(con, period, parsed.currency)
    finally:
        con.close()
    outcome = preliminary_checks.validate_preliminary_release(
        parsed, settings.expectations_dir, neighbours
    )
    for warning in outcome.warnings:
        log.warning("%s: %s", parsed.release.source_name, warning.message())
    return [] if outcome.success else quarantine.from_validation(outcome)


def load(
    batch: list[parse.ParsedRelease], build: Path, settings: Settings
) -> dict[str, int | ReleaseError]:
    """A month and flow's detailed exports in one transaction, other releases one by one, over
    one connection: rows loaded, or why not."""
    from customs_etl.load import loader

    con = _connect(build, settings)
    try:
        return loader.load_releases(con, [(p.path, registry.loaded_record(p)) for p in batch])
    finally:
        con.close()


def record_rejection(
    build: Path,
    record: registry.ReleaseRecord,
    report: quarantine.QuarantineReport,
    settings: Settings,
) -> Path:
    """Refuse a release: its file stays as received, the registry and a report say why."""
    con = _connect(build, settings)
    try:
        registry.record_release(con, record)
    finally:
        con.close()
    markdown = quarantine.write_report(settings.quarantine_dir, report)
    log.error("Quarantined %s (report %s)", report.summary(), markdown)
    return markdown


def build_marts(
    build: Path, settings: Settings, summary: RunSummary, started: dt.datetime
) -> list[str]:
    """Rebuild the marts; the figures this run's releases revised, in words."""
    from customs_etl.load import models

    con = _connect(build, settings)
    try:
        # Incremental marts rebuild only the months of this run's releases (from the registry,
        # which also knows the months of the vintages they replace).
        touched = registry.touched_periods(con, summary.loaded)
        built = models.build_models(
            con, settings.sql_dir, settings.seeds_dir, touched_periods=touched
        )
        registry.record_run(con, _run_row(summary, started))
        revised = revision_lines(revisions_by_sources(con, summary.loaded))
    finally:
        con.close()
    log.info("Built %d models", len(built))
    log.debug("Models built: %s", ", ".join(built))
    return revised


def check_against_preliminary(build: Path, settings: Settings) -> list[cross_check.Disagreement]:
    """Detailed totals against the preliminary tables (marts.preliminary_cross_check): each
    disagreement is a warning with both figures; nothing is refused or averaged."""
    from customs_etl.validate import cross_check
    from customs_etl.validate.expectations import validate_cross_check

    con = connect(build, read_only=True)
    try:
        frame = con.execute("select * from marts.preliminary_cross_check").pl()
    finally:
        con.close()
    if frame.is_empty():
        return []
    validate_cross_check(frame, settings.expectations_dir)  # for the Data Docs
    return cross_check.disagreements(frame)


def data_docs(settings: Settings) -> Path:
    from customs_etl.validate.expectations import build_data_docs

    return build_data_docs(settings.expectations_dir)


def publish(build: Path, settings: Settings) -> dict[str, int]:
    return backend.publish(settings, build)


@dataclass(frozen=True)
class Steps:
    """The job's units of work. The defaults are the plain functions above; the flow passes
    the same functions wrapped as Prefect tasks."""

    discover: Callable[..., tuple[list[ReleaseFile], dict[Path, ReleaseError]]] = discover
    fetch_index: Callable[[str, Settings], list[str]] = fetch_index
    fetch_table: Callable[[str, Settings], ReleaseFile] = fetch_table
    parse_one: Callable[[ReleaseFile, Settings], parse.ParsedRelease] = parse_one
    parse_chunks: Callable[[list[list[ReleaseFile]], Settings], list[list[Outcome]]] = parse_chunks
    validate_batches: Callable[..., list[dict[str, list[quarantine.Finding]]]] = validate_batches
    validate_preliminary: Callable[..., list[quarantine.Finding]] = validate_preliminary
    load: Callable[..., dict[str, int | ReleaseError]] = load
    record_rejection: Callable[..., Path] = record_rejection
    build_marts: Callable[..., list[str]] = build_marts
    check_against_preliminary: Callable[[Path, Settings], list[cross_check.Disagreement]] = (
        check_against_preliminary
    )
    data_docs: Callable[[Settings], Path] = data_docs
    publish: Callable[[Path, Settings], dict[str, int]] = publish


PLAIN = Steps()


# --- the job ------------------------------------------------------------------------------


def run_job(
    settings: Settings,
    *,
    files: list[Path] | None = None,
    trade_flow: TradeFlow | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
    steps: Steps = PLAIN,
) -> RunSummary:
    """Load every new release from the landing folder (or the given files) and publish.

    `period_from`/`period_to` (YYYY-MM, inclusive; a backfill) keep only the files under a
    `YYYY-MM` folder in that range (`<flow>/<YYYY-MM>/<file>`); other files are left out.
    Raises RejectedReleasesError at the end of a run that refused some files (the others are
    loaded and published), DiskFullError, RunInProgressError."""
    for bound in (period_from, period_to):
        if bound is not None and not MONTH.fullmatch(bound):
            raise ValueError(f"period {bound!r}: expected a month as YYYY-MM")
    published = settings.warehouse_path
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    summary = RunSummary(
        run_id=str(uuid.uuid4()),
        warehouse_path=backend.name(settings),
        quarantine_dir=str(settings.quarantine_dir),
    )
    with backend.run_lock(settings):
        log.info("Run %s started on %s", summary.run_id, backend.name(settings))
        _step("discover")
        landing = None if files is not None else settings.landing_dir
        with _disk_full_is_explained(published):
            releases, unusable = steps.discover(landing, files, trade_flow, settings)
        if files is None:
            releases += _fetch_sources(settings, steps)
        if period_from or period_to:
            releases, unusable = _within(releases, unusable, period_from, period_to)
        summary.releases_seen = len(releases) + len(unusable)
        summary.rejected |= {str(path): error.message() for path, error in unusable.items()}
        already = backend.loaded_release_ids(settings)
        unique = one_per_release(releases, lambda release: release.release_id)
        new = [r for r in unique if r.release_id not in already]
        summary.skipped = [r.source_name for r in releases if r.release_id in already]
        if new or unusable:
            with _disk_full_is_explained(published):
                _load_and_publish(new, unusable, settings, summary, started, steps)
    log.info("%s", summary.text())
    if summary.rejected:
        raise RejectedReleasesError(summary.text(), summary)
    return summary


def _step(name: str) -> None:
    """Where the run is, in the log (operators, and the crash tests, read it)."""
    log.info("Step: %s", name)


def _fetch_sources(settings: Settings, steps: Steps) -> list[ReleaseFile]:
    """The configured preliminary tables, pages and index pages: every page kept in the
    landing zone. A source that stays down after its retries fails the run before anything
    is built, so the published warehouse is untouched."""
    urls = list(settings.preliminary_urls)
    for index_url in settings.preliminary_index_urls:
        urls += steps.fetch_index(index_url, settings)
    return [steps.fetch_table(url, settings) for url in dict.fromkeys(urls)]


def _within(
    releases: list[ReleaseFile],
    unusable: dict[Path, ReleaseError],
    period_from: str | None,
    period_to: str | None,
) -> tuple[list[ReleaseFile], dict[Path, ReleaseError]]:
    """The files whose innermost `YYYY-MM` folder is in the range (bounds inclusive)."""

    def keep(relative: str) -> bool:
        months = [part for part in Path(relative).parts[:-1] if MONTH.fullmatch(part)]
        month = months[-1] if months else None
        return month is not None and (period_from or month) <= month <= (period_to or month)

    kept = [r for r in releases if keep(r.source_name)]
    kept_unusable = {path: e for path, e in unusable.items() if keep(e.file)}
    left_out = len(releases) + len(unusable) - len(kept) - len(kept_unusable)
    log.info("Periods %s to %s: %d file(s) left out.", period_from, period_to, left_out)
    return kept, kept_unusable


def _load_and_publish(
    new: list[ReleaseFile],
    unusable: dict[Path, ReleaseError],
    settings: Settings,
    summary: RunSummary,
    started: dt.datetime,
    steps: Steps,
) -> None:
    from customs_etl.validate import expectations

    # The parsers too, here in this thread: the warm-up below and parse_many's threads then
    # only use them, not import them (concurrently) for the first time.
    importlib.import_module("customs_etl.transform.parse")
    expectations.clear_results(settings.expectations_dir)
    # Great Expectations takes seconds of CPU to import: done while the published warehouse is
    # copied (the kernel's work) and Polars parses (outside the GIL).
    warming = threading.Thread(
        target=expectations.warm_up, args=(settings.expectations_dir,), daemon=True
    )
    warming.start()
    # The build is made ready (its schema included) while the releases are parsed and
    # validated: the first connection to it waits (backend.start_build).
    build = backend.start_build(settings)
    for path, error in unusable.items():
        release_id = sha256_file(path)
        record = registry.rejected_record(
            release_id, error.file, path.stat().st_size, error.message()
        )
        findings = quarantine.from_release_error(error)
        report = quarantine.new_report(release_id, error.file, path, "extract", findings)
        steps.record_rejection(build, record, report, settings)
        summary.rejections.append(_rejection(error.file, release_id, "extract", findings))
    detailed_exports = [r for r in new if r.kind == "detailed_export"]
    _step("parse")
    progress.current().start(len(new), "releases: parse")
    parsed = _parse_detailed(detailed_exports, build, settings, summary, steps)
    warming.join()
    _step("validate")
    passed = _validate(parsed, build, settings, summary, steps)
    _step("load")
    _load(passed, build, settings, summary, steps)
    _step("preliminary tables")
    _load_preliminary_tables(new, build, settings, summary, steps)
    summary.data_docs = str(steps.data_docs(settings))
    if not summary.loaded:
        # Nothing new passed: keep the published warehouse exactly as it is.
        backend.discard_build(settings, build)
        return
    _step("marts")
    summary.revisions = steps.build_marts(build, settings, summary, started)
    _step("cross-check")
    summary.disagreements = steps.check_against_preliminary(build, settings)
    summary.warnings += [d.text() for d in summary.disagreements]
    _step("publish")
    steps.publish(build, settings)
    summary.published = True


def _parse_detailed(
    releases: list[ReleaseFile],
    build: Path,
    settings: Settings,
    summary: RunSummary,
    steps: Steps,
) -> list[parse.ParsedRelease]:
    """The parsed releases in their order; the files that cannot be parsed are quarantined."""
    chunks = [
        releases[start : start + FILES_PER_PARSE_STEP]
        for start in range(0, len(releases), FILES_PER_PARSE_STEP)
    ]
    parsed: list[parse.ParsedRelease] = []
    for chunk, outcomes in zip(chunks, steps.parse_chunks(chunks, settings), strict=True):
        for release, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, ReleaseError):
                findings = quarantine.from_release_error(outcome)
                _reject(build, release, "transform", findings, settings, summary, steps)
            else:
                parsed.append(outcome)
            progress.current().advance(release.source_name)
    return parsed


def _validate(
    parsed: list[parse.ParsedRelease],
    build: Path,
    settings: Settings,
    summary: RunSummary,
    steps: Steps,
) -> list[parse.ParsedRelease]:
    """The releases that passed, in their order (which decides who delivered a row first);
    the others are quarantined. One GX run per HS level and currency, up to
    batches.MAX_BATCH_ROWS rows."""
    from customs_etl.validate import batches

    groups = batches.validation_batches(parsed)
    failed: set[str] = set()
    for batch, findings in zip(groups, steps.validate_batches(groups, settings), strict=True):
        for one in batch:
            if found := findings[one.release.release_id]:
                _reject(build, one.release, "validate", found, settings, summary, steps)
                failed.add(one.release.release_id)
    return [p for p in parsed if p.release.release_id not in failed]


def _load(
    passed: list[parse.ParsedRelease],
    build: Path,
    settings: Settings,
    summary: RunSummary,
    steps: Steps,
) -> None:
    outcomes = steps.load(passed, build, settings)
    for one in passed:
        outcome = outcomes[one.release.release_id]
        if isinstance(outcome, ReleaseError):
            findings = quarantine.from_release_error(outcome)
            _reject(build, one.release, "load", findings, settings, summary, steps)
        else:
            summary.rows_loaded += outcome
            summary.loaded.append(one.release.source_name)
            summary.months_loaded.append(one.period[:7])


def _load_preliminary_tables(
    new: list[ReleaseFile], build: Path, settings: Settings, summary: RunSummary, steps: Steps
) -> None:
    """Preliminary tables one at a time, oldest month and vintage first, so that each is
    checked against the months loaded before it (January-to-month never falls)."""
    parsed_tables = []
    for release in (r for r in new if r.kind == "preliminary_table"):
        try:
            parsed_tables.append(steps.parse_one(release, settings))
        except ReleaseError as error:
            findings = quarantine.from_release_error(error)
            _reject(build, release, "transform", findings, settings, summary, steps)
        progress.current().advance(release.source_name)
    for table in sorted(parsed_tables, key=lambda p: vintage_order(p.release, p.period)):
        findings = steps.validate_preliminary(table, settings, build)
        if findings:
            _reject(build, table.release, "validate", findings, settings, summary, steps)
        else:
            _load([table], build, settings, summary, steps)


def _reject(
    build: Path,
    release: ReleaseFile,
    stage: str,
    findings: list[quarantine.Finding],
    settings: Settings,
    summary: RunSummary,
    steps: Steps,
) -> None:
    why = "; ".join(f.message for f in findings)
    record = registry.rejected_record(
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
    steps.record_rejection(build, record, report, settings)
    summary.rejected[release.source_name] = why
    summary.rejections.append(_rejection(release.source_name, release.release_id, stage, findings))


def _rejection(
    file: str, release_id: str, stage: str, findings: list[quarantine.Finding]
) -> Rejection:
    first = findings[0] if findings else None
    return Rejection(
        file=file,
        release_id=release_id,
        stage=stage,
        check=(first.check if first else stage) or stage,
        reason="; ".join(f.message for f in findings),
    )


def _connect(build: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    return connect(
        build, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
    )


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
        build = publication.build_path_for(published)
        publication.wait_for_build(build)
        build.unlink(missing_ok=True)
        raise DiskFullError(
            f"the disk holding {published.parent} is full: the run stopped while building "
            f"{build.name} ({error}). The published warehouse {published.name} is unchanged; "
            "free some space and run again."
        ) from error


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
