"""The scheduled job as operators run it: a real Prefect server on loopback, the deployments of
prefect.yaml registered with `prefect deploy --all`, and a process worker on the `customs` pool
running the monthly deployment from this checkout into a temporary warehouse."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import duckdb
import pytest
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import Artifact, FlowRun
from prefect.server.schemas.schedules import CronSchedule
from prefect_server import Prefect, prefect_server
from support import PROJECT_DIR, SEEDS_DIR, export_file

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLOW_RUN_TIMEOUT = 240


@dataclass(frozen=True)
class Job:
    """Where the worker's flow runs read and write: nothing under the repository."""

    landing: Path
    warehouse: Path
    work: Path


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prefect]:
    """A real server (SQLite under a temporary PREFECT_HOME), the pool, the deployments."""
    with prefect_server(tmp_path_factory.mktemp("prefect")) as prefect:
        # What `make serve` does: the pool (one run at a time), then every deployment.
        prefect.cli("work-pool", "create", "customs", "--type", "process")
        prefect.cli("work-pool", "set-concurrency-limit", "customs", "1")
        prefect.cli("deploy", "--all", "--prefect-file", "prefect.yaml", "--no-prompt")
        yield prefect


@pytest.fixture(scope="module")
def job(prefect: Prefect, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Job]:
    """A landing folder of China-DPRK query exports and a worker whose runs use it."""
    root = tmp_path_factory.mktemp("job")
    job = Job(root / "landing", root / "warehouse" / "customs.duckdb", root / "work")
    for year, export, import_ in [(2024, 100_000, 40_000), (2025, 130_000, 52_000)]:
        month = f"{year}-01"
        export_file(
            job.landing / "export" / month,
            "prk.csv",
            f"{year}01",
            [("109", "67030000", export), ("133", "39269090", 7)],
        )
        export_file(
            job.landing / "import" / month, "prk.csv", f"{year}01", [("109", "67041100", import_)]
        )
    worker_env = prefect.env | {
        "CUSTOMS_LANDING_DIR": str(job.landing),
        "CUSTOMS_WAREHOUSE_PATH": str(job.warehouse),
        "CUSTOMS_WORK_DIR": str(job.work),
        "CUSTOMS_SEEDS_DIR": str(SEEDS_DIR),
        "PREFECT_WORKER_QUERY_SECONDS": "1",  # pick up a new flow run without the usual wait
    }
    worker = ["worker", "start", "--pool", "customs", "--limit", "1", "--install-policy", "never"]
    prefect.start("worker", *worker, env=worker_env)  # stopped with the server
    yield job


def run_deployment(prefect: Prefect, name: str, *params: str) -> FlowRun:
    """`prefect deployment run`, then wait for the worker to finish the flow run."""
    args = [arg for param in params for arg in ("--param", param)]
    out = prefect.cli("deployment", "run", name, *args)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    run_id = UUID(match.group(1))
    deadline = time.monotonic() + FLOW_RUN_TIMEOUT
    with prefect.client() as client:
        while time.monotonic() < deadline:
            flow_run = client.read_flow_run(run_id)
            if flow_run.state and flow_run.state.is_final():
                return flow_run
            time.sleep(1)
    pytest.fail(f"flow run {run_id} not finished in {FLOW_RUN_TIMEOUT} s:\n{worker_log(prefect)}")


def artifacts_of(prefect: Prefect, flow_run: FlowRun) -> dict[str, Artifact]:
    with prefect.client() as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
        )
    return {artifact.key: artifact for artifact in found if artifact.key}


def table_rows(artifact: Artifact) -> list[dict[str, Any]]:
    assert artifact.type == "table"
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def worker_log(prefect: Prefect) -> str:
    return (prefect.logs / "worker.log").read_text(errors="replace")[-4000:]


def test_the_deployments_as_registered(prefect: Prefect) -> None:
    with prefect.client() as client:
        monthly = client.read_deployment_by_name("build-warehouse/monthly")
        backfill = client.read_deployment_by_name("build-warehouse/backfill")
        pool = client.read_work_pool("customs")
    assert pool.type == "process"
    assert pool.concurrency_limit == 1
    for deployment in (monthly, backfill):
        assert deployment.work_pool_name == "customs"
        assert deployment.entrypoint == "flows/build_warehouse.py:build_warehouse"
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options is not None
        assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
        # The worker's flow runs start in the checkout `prefect deploy` ran from.
        [pull] = deployment.pull_steps or []
        directory = pull["prefect.deployments.steps.set_working_directory"]["directory"]
        assert Path(directory).resolve() == PROJECT_DIR.resolve()
    assert backfill.schedules == []
    assert {"period_from", "period_to", "landing_dir"} <= set(
        backfill.parameter_openapi_schema["properties"]
    )


def next_runs(schedules: list[CronSchedule], after: dt.datetime, n: int = 3) -> list[dt.datetime]:
    """The next n run times of all schedules after a moment, as the server's scheduler sees them."""
    start = after + dt.timedelta(seconds=1)
    dates = [d for s in schedules for d in asyncio.run(s.get_dates(n=n, start=start))]
    return sorted(d.astimezone(SHANGHAI) for d in dates)[:n]


def test_the_monthly_schedule_follows_the_gacc_calendar(prefect: Prefect) -> None:
    with prefect.client() as client:
        deployment = client.read_deployment_by_name("build-warehouse/monthly")
    assert deployment.schedules and all(s.active for s in deployment.schedules)
    schedules = [
        CronSchedule(cron=s.schedule.cron, timezone=s.schedule.timezone, day_or=s.schedule.day_or)
        for s in deployment.schedules
    ]
    assert {s.timezone for s in schedules} == {"Asia/Shanghai"}

    def at(day: str, hour: int) -> dt.datetime:
        return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SHANGHAI)

    # After the last check of the window (the 25th, 20:00), the next is the 7th, 10:00 Shanghai.
    assert next_runs(schedules, at("2026-01-25", 20)) == [
        at("2026-02-07", 10),
        at("2026-02-07", 20),
        at("2026-02-08", 10),
    ]
    assert next_runs(schedules, at("2026-01-25", 10), 2) == [
        at("2026-01-25", 20),
        at("2026-02-07", 10),
    ]
    # Nothing outside the 7th-25th; 10:00 Shanghai is 02:00 UTC.
    assert next_runs(schedules, at("2026-02-26", 0), 1) == [at("2026-03-07", 10)]
    [first] = next_runs(schedules, at("2026-03-01", 0), 1)
    assert first.astimezone(dt.UTC) == dt.datetime(2026, 3, 7, 2, 0, tzinfo=dt.UTC)
    # Every day of the window has both checks: 19 days x 2 = 38 in February 2026.
    month = next_runs(schedules, at("2026-02-01", 0), 60)
    assert len([d for d in month if d.month == 2]) == 38


def test_the_worker_runs_the_monthly_deployment(prefect: Prefect, job: Job) -> None:
    first = run_deployment(prefect, "build-warehouse/monthly")
    assert first.state is not None and first.state.is_completed(), worker_log(prefect)

    [(value, yoy, months)] = query(
        job.warehouse,
        "select value_usd, yoy_pct, months_covered from marts.trade_half_year "
        "where year = 2025 and half = 'H1' and partner_iso3 = 'PRK' and flow = 'total'",
    )
    assert (value, yoy, months) == (182_000, 30.0, 1)
    [(runs, loaded)] = query(job.warehouse, "select count(*), sum(releases_loaded) from meta.runs")
    assert (runs, loaded) == (1, 4)

    artifacts = artifacts_of(prefect, first)
    assert set(artifacts) == {"customs-run-summary", "customs-releases-loaded"}
    summary = artifacts["customs-run-summary"]
    assert summary.type == "markdown"
    assert isinstance(summary.data, str)
    assert "China-DPRK (PRK) trade by half-year" in summary.data
    assert "| 2025 H1 | 130,000 | 52,000 | 182,000 | +30.0% | 1 |" in summary.data
    assert "### Releases loaded (4)" in summary.data
    assert "### Revised figures (0)" in summary.data
    rows = table_rows(artifacts["customs-releases-loaded"])
    assert sorted((r["source_name"], r["period"], r["flow"], r["rows"]) for r in rows) == [
        ("export/2024-01/prk.csv", "2024-01", "export", 2),
        ("export/2025-01/prk.csv", "2025-01", "export", 2),
        ("import/2024-01/prk.csv", "2024-01", "import", 1),
        ("import/2025-01/prk.csv", "2025-01", "import", 1),
    ]
    assert all(len(r["release_id"]) == 12 for r in rows)


def test_a_check_with_nothing_new_does_no_work(prefect: Prefect, job: Job) -> None:
    before = job.warehouse.stat().st_mtime_ns
    again = run_deployment(prefect, "build-warehouse/monthly")
    assert again.state is not None and again.state.is_completed(), worker_log(prefect)
    assert job.warehouse.stat().st_mtime_ns == before
    assert artifacts_of(prefect, again) == {}


def test_revisions_and_rejections_are_reported(prefect: Prefect, job: Job) -> None:
    # GACC revises January 2025 (same file name, other bytes) and a broken file arrives.
    export_file(
        job.landing / "export" / "2025-01",
        "prk.csv",
        "202501",
        [("109", "67030000", 140_000), ("133", "39269090", 7)],
    )
    broken = export_file(
        job.landing / "import" / "2025-02", "prk.csv", "202502", [("109", "67041100", 12_345)]
    )
    broken.write_bytes(broken.read_bytes().replace(b'"12,345"', b'"12,34x"'))
    run = run_deployment(prefect, "build-warehouse/monthly")
    # The revision is published, and the run fails to draw attention to the rejected file.
    assert run.state is not None and run.state.is_failed(), worker_log(prefect)
    [(value,)] = query(
        job.warehouse,
        "select value_usd from marts.trade_half_year "
        "where year = 2025 and half = 'H1' and partner_iso3 = 'PRK' and flow = 'total'",
    )
    assert value == 192_000

    artifacts = artifacts_of(prefect, run)
    text = artifacts["customs-run-summary"].data
    assert isinstance(text, str)
    assert "| 2025 H1 | 140,000 | 52,000 | 192,000 | +37.1% | 1 |" in text
    assert "### Releases loaded (1)" in text
    assert "### Revised figures (1)" in text
    assert re.search(
        r"\| export/2025-01/prk\.csv \| 2025-01 \| export \| `\w{12}` \| 130,007 ", text
    )
    assert "| +10,000 USD |" in text
    assert "### Rejected files (1)" in text
    assert "- `import/2025-02/prk.csv`: " in text
    rows = table_rows(artifacts["customs-releases-loaded"])
    assert [r["source_name"] for r in rows] == ["export/2025-01/prk.csv"]


def test_a_backfill_loads_only_the_months_asked_for(prefect: Prefect, job: Job) -> None:
    other = job.warehouse.with_name("backfill.duckdb")
    run = run_deployment(
        prefect,
        "build-warehouse/backfill",
        f"landing_dir={job.landing}",
        f"warehouse_path={other}",
        "period_from=2024-01",
        "period_to=2024-12",
    )
    assert run.state is not None and run.state.is_completed(), worker_log(prefect)
    periods = query(other, "select distinct strftime(period, '%Y-%m') from meta.releases")
    assert periods == [("2024-01",)]
