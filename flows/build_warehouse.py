"""The `build-warehouse` Prefect flow: the job of `customs_etl.job.run_job`, its steps run as
Prefect tasks. Nothing here decides anything about the data: this module adds caching of
parsed releases by their checksums, task-run logging, the run's artifacts and its events
(flows/events.py, for the alerts). (The sources' retries are the library's one policy,
extract/fetch.py, so a run from the CLI has them too.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from customs_etl import job
from customs_etl.errors import RejectedReleasesError
from customs_etl.extract.releases import ReleaseFile, TradeFlow
from customs_etl.settings import Settings, get_settings
from customs_etl.transform import parse
from flows import events
from flows.artifacts import publish_run_artifacts
from flows.compute import compute_for
from flows.processes import tie_temporary_server_to_this_process

# Run without PREFECT_API_URL, the flow's temporary server must not outlive its process.
tie_temporary_server_to_this_process()


def _parse_cache_key(_: TaskRunContext, parameters: dict[str, object]) -> str:
    release = parameters["release"]
    assert isinstance(release, ReleaseFile)
    return f"parse-{release.release_id}-v{parse.PARSED_VERSION}"


def _parse_many_cache_key(_: TaskRunContext, parameters: dict[str, object]) -> str:
    releases = parameters["releases"]
    assert isinstance(releases, list)
    checksums = hashlib.sha256("".join(r.release_id for r in releases).encode()).hexdigest()
    return f"parse-many-{checksums}-v{parse.PARSED_VERSION}"


discover_task = task(job.discover, name="discover-releases", cache_policy=NO_CACHE)
fetch_index_task = task(job.fetch_index, name="fetch-index-page", cache_policy=NO_CACHE)
fetch_table_task = task(job.fetch_table, name="fetch-preliminary-table", cache_policy=NO_CACHE)
parse_one_task = task(
    job.parse_one, name="parse-release", cache_key_fn=_parse_cache_key, persist_result=True
)
parse_many_task = task(
    job.parse_many,
    name="parse-releases",
    cache_key_fn=_parse_many_cache_key,
    persist_result=True,
)
validate_batch_task = task(job.validate_batch, name="validate-releases", cache_policy=NO_CACHE)
validate_preliminary_task = task(
    job.validate_preliminary, name="validate-preliminary-table", cache_policy=NO_CACHE
)
load_task = task(job.load, name="load-releases", cache_policy=NO_CACHE)
record_rejection_task = task(job.record_rejection, name="quarantine-release", cache_policy=NO_CACHE)
build_marts_task = task(job.build_marts, name="build-marts", cache_policy=NO_CACHE)
cross_check_task = task(
    job.check_against_preliminary, name="cross-check-preliminary", cache_policy=NO_CACHE
)
data_docs_task = task(job.data_docs, name="build-data-docs", cache_policy=NO_CACHE)
publish_task = task(job.publish, name="publish-warehouse", cache_policy=NO_CACHE)


def _parse_chunks(chunks: list[list[ReleaseFile]], settings: Settings) -> list[list[job.Outcome]]:
    """One task run per chunk, cached by its files' checksums (refreshed when a parsed file
    was removed from the work folder)."""
    return [
        parse_many_task.with_options(
            refresh_cache=not all(parse.parsed_path(settings.parsed_dir, r).exists() for r in chunk)
        )(chunk, settings)
        for chunk in chunks
    ]


def _parse_one(release: ReleaseFile, settings: Settings) -> parse.ParsedRelease:
    exists = parse.parsed_path(settings.parsed_dir, release).exists()
    return parse_one_task.with_options(refresh_cache=not exists)(release, settings)


def _validate_batches(
    groups: list[list[parse.ParsedRelease]], settings: Settings
) -> list[dict[str, list]]:
    return [validate_batch_task(batch, settings) for batch in groups]


def _fetch_index(url: str, settings: Settings) -> list[str]:
    with events.source_down_is_told(url, settings.fetch_attempts):
        return fetch_index_task(url, settings)


def _fetch_table(url: str, settings: Settings) -> ReleaseFile:
    with events.source_down_is_told(url, settings.fetch_attempts):
        return fetch_table_task(url, settings)


def steps(settings: Settings) -> job.Steps:
    """The job's steps as this flow's tasks."""
    return job.Steps(
        discover=discover_task,
        fetch_index=_fetch_index,
        fetch_table=_fetch_table,
        parse_one=_parse_one,
        parse_chunks=_parse_chunks,
        validate_batches=_validate_batches,
        validate_preliminary=validate_preliminary_task,
        load=load_task,
        record_rejection=record_rejection_task,
        build_marts=build_marts_task,
        check_against_preliminary=cross_check_task,
        data_docs=data_docs_task,
        publish=publish_task,
    )


@flow(name="build-warehouse")
def build_warehouse(
    landing_dir: str | None = None,
    warehouse_path: str | None = None,
    files: list[str] | None = None,
    trade_flow: TradeFlow | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> job.RunSummary:
    """Load every new release from the landing folder (or the given files) and publish.

    `period_from`/`period_to` (YYYY-MM, inclusive; a backfill) keep only the files under a
    `YYYY-MM` folder in that range (`<flow>/<YYYY-MM>/<file>`); other files are left out."""
    settings = get_settings(landing_dir=landing_dir, warehouse_path=warehouse_path)
    logger = get_run_logger()
    try:
        # Parsing and validation on the Dask cluster of CUSTOMS_DASK_ADDRESS, when set.
        with compute_for(settings) as compute:
            summary = job.run_job(
                settings,
                files=[Path(f) for f in files] if files is not None else None,
                trade_flow=trade_flow,
                period_from=period_from,
                period_to=period_to,
                steps=compute.steps(steps(settings)),
            )
    except RejectedReleasesError as error:
        # The files that passed were loaded and published: the run still reports them.
        summary = error.summary
        if isinstance(summary, job.RunSummary):
            events.emit_run_events(summary)
            if summary.published:
                publish_run_artifacts(summary, settings)
        raise
    logger.info("%s", summary.text())
    events.emit_run_events(summary)
    if summary.published:
        publish_run_artifacts(summary, settings)
    return summary
