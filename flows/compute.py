"""Where the flow's CPU-heavy steps run: in the flow's own process (the default), or fanned
out over a Dask cluster through prefect-dask's DaskTaskRunner when CUSTOMS_DASK_ADDRESS is set.

Only parsing (release files into canonical Parquet) and validation (Great Expectations over the
parsed rows) go to the cluster: both read files and return small picklable values
(ParsedRelease, findings). The job's other steps (loading, the marts, publishing) stay in the
flow's process, the single writer of the build database.

On the cluster, the job's parse chunks and validation batches are cut smaller, so that every
worker thread gets some; each piece is a Prefect task run submitted to the runner, and their
futures are read in submission order, so the job receives the same outcomes in the same order
as in a local run. A worker lost mid-task is not the run's loss: the Dask scheduler runs the
task again on another worker (up to `distributed.scheduler.allowed-failures` times), and a task
that raises is retried by Prefect (`retries`). Parsed files are written whole then renamed, so
a piece parsed twice writes the same bytes twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect import Task, get_run_logger, task

from customs_etl import job
from customs_etl.errors import (
    ClusterUnavailableError,
    DiskFullError,
    RejectedReleasesError,
    ReleaseError,
    RunInProgressError,
)
from customs_etl.extract.releases import ReleaseFile
from customs_etl.settings import Settings
from customs_etl.transform import parse
from customs_etl.validate import batches, quarantine

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

# Task runs on the cluster are retried by Prefect when they raise (a file briefly unreadable on
# a network disk, a worker's memory error); a lost worker is Dask's to reschedule.
CLUSTER_TASK_RETRIES = 2
# Work items per worker thread: enough that a fast worker takes over a slow (or lost) one's
# share, few enough that each task run's ~10-20 ms of orchestration stays small.
TASKS_PER_THREAD = 2


@dataclass
class Compute:
    """Runs the job's parse and validation steps here (runner None) or on the cluster."""

    runner: DaskTaskRunner | None = None

    def threads(self) -> int:
        """Worker threads of the cluster (1 here: the job's own pools do the fan-out)."""
        if self.runner is None:
            return 1
        return max(1, sum(self.runner.client.nthreads().values()))

    def share(self, items: int, at_most: int) -> int:
        """Items per task run: at most `at_most`, and small enough that every worker thread
        gets TASKS_PER_THREAD task runs."""
        return max(1, min(at_most, math.ceil(items / (self.threads() * TASKS_PER_THREAD))))

    def steps(self, steps: job.Steps) -> job.Steps:
        """The flow's steps, with parsing and validation on the cluster when there is one."""
        if self.runner is None:
            return steps
        return dataclasses.replace(
            steps,
            parse_chunks=functools.partial(_parse_chunks, self),
            validate_batches=functools.partial(_validate_batches, self),
        )

    def run_all(self, calls: Iterable[tuple[Task[..., Any], dict[str, Any]]]) -> list[Any]:
        """Each (task, parameters) submitted at once; their results in the order of the calls."""
        assert self.runner is not None
        futures = [
            self.runner.submit(task_fn.with_options(retries=CLUSTER_TASK_RETRIES), parameters)
            for task_fn, parameters in calls
        ]
        return [future.result() for future in futures]


def _parse_chunks(
    compute: Compute, chunks: list[list[ReleaseFile]], settings: Settings
) -> list[list[job.Outcome]]:
    """The job's chunks cut into pieces for the cluster; the outcomes regrouped as its chunks."""
    releases = [release for chunk in chunks for release in chunk]
    size = compute.share(len(releases), job.FILES_PER_PARSE_STEP)
    pieces = [releases[start : start + size] for start in range(0, len(releases), size)]
    calls = [
        (
            _parse_task().with_options(
                refresh_cache=not all(parse.parsed_path(settings.parsed_dir, r).exists() for r in p)
            ),
            {"releases": p, "settings": settings},
        )
        for p in pieces
    ]
    outcomes = iter([o for piece in compute.run_all(calls) for o in piece])
    return [[next(outcomes) for _ in chunk] for chunk in chunks]


def _validate_batches(
    compute: Compute, groups: list[list[parse.ParsedRelease]], settings: Settings
) -> list[dict[str, list[quarantine.Finding]]]:
    """Each of the job's batches cut into pieces (same HS level and currency, fewer rows); the
    findings of a batch's pieces merged back (each release is in one piece)."""
    from flows.build_warehouse import validate_batch_task

    rows = compute.share(sum(p.row_count for g in groups for p in g), batches.MAX_BATCH_ROWS)
    pieces = [batches.validation_batches(group, rows) for group in groups]
    calls = [(validate_batch_task, {"batch": b, "settings": settings}) for g in pieces for b in g]
    findings = iter(compute.run_all(calls))
    return [{k: v for _ in group for k, v in next(findings).items()} for group in pieces]


def parse_logged(releases: list[ReleaseFile], settings: Settings) -> list[job.Outcome]:
    """job.parse_many, saying for each file which worker parsed it (the Dask test and an
    operator reading the logs see where each release went)."""
    logger = get_run_logger()  # the pool's threads do not carry the task run's context
    worker = where()

    def one(release: ReleaseFile) -> job.Outcome:
        try:
            parsed = job.parse_one(release, settings)
        except ReleaseError as error:
            return error
        logger.info("Parsed %s: %d rows, on %s", release.source_name, parsed.row_count, worker)
        return parsed

    with ThreadPoolExecutor(settings.parse_workers) as pool:
        return list(pool.map(one, releases))


@functools.cache
def _parse_task() -> Task[..., list[job.Outcome]]:
    """parse_logged as a task, cached like the flow's parse-releases (same key: a piece parsed
    here or locally is the same cached result)."""
    from flows.build_warehouse import _parse_many_cache_key

    return task(
        parse_logged,
        name="parse-releases",
        cache_key_fn=_parse_many_cache_key,
        persist_result=True,
    )


@contextlib.contextmanager
def compute_for(settings: Settings) -> Iterator[Compute]:
    """Here, or connected to the Dask scheduler of CUSTOMS_DASK_ADDRESS for the block."""
    if not settings.dask_address:
        yield Compute()
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_dask import DaskTaskRunner

    # The workers' task runs report to the flow's Prefect API: say where it is, also when it
    # is the temporary server of a local run (its address is not in any setting then).
    with (
        temporary_settings({PREFECT_API_URL: _api_url()}),
        DaskTaskRunner(
            address=settings.dask_address,
            client_kwargs={"timeout": f"{settings.dask_connect_timeout_seconds}s"},
        ) as runner,
    ):
        compute = Compute(runner)
        _connect(compute, settings.dask_address, settings.dask_connect_timeout_seconds)
        from flows.dask_worker import ReportToFlowApi

        plugin = ReportToFlowApi(_api_url())
        runner.client.register_plugin(plugin)
        try:
            yield compute
        finally:
            with contextlib.suppress(Exception):  # a lost scheduler must not hide the outcome
                runner.client.unregister_worker_plugin(plugin.name)


def _connect(compute: Compute, address: str, timeout: float) -> None:
    """Fail before anything is built when the scheduler does not answer or has no worker."""
    assert compute.runner is not None
    try:
        client = compute.runner.client
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterUnavailableError(
            f"CUSTOMS_DASK_ADDRESS={address}: no Dask scheduler answered within "
            f"{timeout:g} s ({type(error).__name__}: {error}); expected the "
            "address of a running `dask scheduler`, as tcp://host:port. Nothing was built."
        ) from error
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as error:
        raise ClusterUnavailableError(
            f"CUSTOMS_DASK_ADDRESS={address}: the scheduler answered but no worker joined it "
            f"within {timeout:g} s; expected at least one `dask worker {address}`. "
            "Nothing was built."
        ) from error


def _api_url() -> str:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        return str(configured)
    with get_client(sync_client=True) as client:
        return str(client.api_url).rstrip("/")


def where() -> str:
    """The Dask worker running this code, or 'the flow's process'."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "the flow's process"


def run_flow(settings: Settings, **request: Any) -> job.RunSummary:
    """`customs-etl run`/`ingest` with CUSTOMS_DASK_ADDRESS set: the job through the
    build-warehouse flow, whose task runner reaches the cluster (a run by hand otherwise runs
    the plain job, without Prefect). The job's own errors reach the CLI, which says them in
    one line: Prefect logs them without their traceback here."""
    from flows.build_warehouse import build_warehouse

    files = request.pop("files", None)
    engine_log = logging.getLogger("prefect.flow_runs")
    quiet = _WithoutTraceback()
    engine_log.addFilter(quiet)
    try:
        return build_warehouse(
            str(settings.landing_dir),
            str(settings.warehouse_path),
            files=[str(f) for f in files] if files is not None else None,
            **request,
        )
    finally:
        engine_log.removeFilter(quiet)


class _WithoutTraceback(logging.Filter):
    """Drops the traceback of the job's expected errors from Prefect's engine log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _EXPECTED):
            record.exc_info, record.exc_text = None, None
        return True


_EXPECTED = (ClusterUnavailableError, RejectedReleasesError, DiskFullError, RunInProgressError)
