"""Two Prefect flow runs of `build-warehouse` at the same moment on the same warehouse.

A real Prefect server on loopback and a process worker that may run two flow runs at once, on a
pool and a deployment of its own without the concurrency limits of prefect.yaml (those make the
second run wait its turn; here the warehouse lock, the last guard, is what is tested). Both flow
runs are created before the worker starts, so its first poll starts them together. Then, through
the API: one COMPLETED, the other FAILED saying "another run is in progress", and they overlapped
in time; the warehouse holds each release once and the sample's totals; a third run loads nothing.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort, LogSort
from prefect.workers.process import ProcessWorker
from prefect_server import Prefect, prefect_server
from support import PROJECT_DIR, SAMPLE_LANDING, SEEDS_DIR

from customs_etl.extract.releases import sha256_file

pytestmark = pytest.mark.slow

# Enough files that the run doing the work lasts far longer than the start-up gap between the
# two flow-run processes (up to ~6 s seen): the sample's four years, both flows (696 files,
# ~10-15 s of work on two cores; two years took under 8 s once staging ran 50 files a task).
MONTHS = tuple(f"{year}-{month:02d}" for year in range(2022, 2026) for month in range(1, 13))
EXPECTED_TOTALS = PROJECT_DIR / "data" / "sample" / "expected_totals.csv"
POOL = "concurrent"
FLOW_RUN_TIMEOUT = 180
IN_PROGRESS = "another run is in progress"


@dataclass
class Outcome:
    prefect: Prefect
    landing: Path
    warehouse: Path
    deployment_id: UUID
    runs: list[FlowRun]


def copy_months(landing: Path) -> Path:
    for flow in ("export", "import"):
        for month in MONTHS:
            shutil.copytree(SAMPLE_LANDING / flow / month, landing / flow / month)
    return landing


def wait_for_final(prefect: Prefect, runs: list[FlowRun]) -> list[FlowRun]:
    deadline = time.monotonic() + FLOW_RUN_TIMEOUT
    with prefect.client() as client:
        while time.monotonic() < deadline:
            current = [client.read_flow_run(run.id) for run in runs]
            if all(run.state is not None and run.state.is_final() for run in current):
                return current
            time.sleep(0.5)
    log = (prefect.logs / "worker.log").read_text(errors="replace")[-4000:]
    pytest.fail(f"flow runs not finished in {FLOW_RUN_TIMEOUT} s:\n{log}")


def run_summary(prefect: Prefect, run: FlowRun, wait: float = 15.0) -> str:
    """The flow's printed summary (its first line), from the run's logs in the API. A run's
    logs are sent in batches and may arrive shortly after its final state."""
    deadline = time.monotonic() + wait
    with prefect.client() as client:
        while True:
            # Newest first: a run over many files logs more than one page.
            logs = client.read_logs(
                LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])),
                sort=LogSort.TIMESTAMP_DESC,
            )
            found = [log.message for log in logs if "release file(s) seen" in log.message]
            if found or time.monotonic() > deadline:
                return found[0].splitlines()[0] if found else ""
            time.sleep(0.5)


def describe(prefect: Prefect, run: FlowRun) -> str:
    assert run.state is not None and run.start_time and run.end_time
    took = (run.end_time - run.start_time).total_seconds()
    said = run.state.message if run.state.is_failed() else run_summary(prefect, run)
    return (
        f"{run.name}: {run.state.type.value} {run.start_time:%H:%M:%S.%f}"
        f" -> {run.end_time:%H:%M:%S.%f} ({took:.2f} s); {said}"
    )


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    root = tmp_path_factory.mktemp("concurrent-flow-runs")
    landing = copy_months(root / "landing")
    published = root / "warehouse" / "customs.duckdb"
    with prefect_server(root / "prefect") as prefect:
        with prefect.client() as client:
            client.create_work_pool(
                WorkPoolCreate(
                    name=POOL,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            deployment_id = client.create_deployment(
                flow_id=client.create_flow_from_name("build-warehouse"),
                name="two-at-once",
                entrypoint="flows/build_warehouse.py:build_warehouse",
                work_pool_name=POOL,
                pull_steps=[
                    {
                        "prefect.deployments.steps.set_working_directory": {
                            "directory": str(PROJECT_DIR)
                        }
                    }
                ],
            )
            parameters = {"landing_dir": str(landing), "warehouse_path": str(published)}
            runs = [
                client.create_flow_run_from_deployment(
                    deployment_id, parameters=parameters, name=f"at-once-{i}"
                )
                for i in (1, 2)
            ]
        worker_env = prefect.env | {
            "CUSTOMS_WORK_DIR": str(root / "work"),
            "CUSTOMS_SEEDS_DIR": str(SEEDS_DIR),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
        }
        worker = ["worker", "start", "--pool", POOL, "--limit", "3", "--install-policy", "never"]
        prefect.start("worker", *worker, env=worker_env)  # stopped with the server
        yield Outcome(prefect, landing, published, deployment_id, wait_for_final(prefect, runs))


def show(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Outcomes go to CI's output, not only to a failure report."""
    with capsys.disabled():
        print(text)


def test_one_run_works_the_other_says_another_is_in_progress(
    outcome: Outcome, capsys: pytest.CaptureFixture[str]
) -> None:
    prefect = outcome.prefect
    with prefect.client() as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[outcome.deployment_id])),
            sort=FlowRunSort.START_TIME_ASC,
        )
    shown = [describe(prefect, run) for run in runs]
    show(capsys, "\nTwo flow runs of build-warehouse at once, on one warehouse:")
    show(capsys, "\n".join("  " + line for line in shown))
    assert len(runs) == 2
    completed = [run for run in runs if run.state and run.state.is_completed()]
    failed = [run for run in runs if run.state and run.state.is_failed()]
    # Both COMPLETED would mean the second started after the first had finished: no overlap.
    assert len(completed) == len(failed) == 1, [describe(prefect, run) for run in runs]
    [winner], [loser] = completed, failed
    assert loser.state is not None and loser.state.message
    assert IN_PROGRESS in loser.state.message
    assert str(outcome.warehouse) in loser.state.message
    # They ran at the same time: each started before the other ended.
    assert winner.start_time and winner.end_time and loser.start_time and loser.end_time
    overlap = min(winner.end_time, loser.end_time) - max(winner.start_time, loser.start_time)
    apart = abs(loser.start_time - winner.start_time).total_seconds()
    inside = winner.start_time <= loser.start_time and loser.end_time <= winner.end_time
    show(
        capsys,
        f"  started {apart:.2f} s apart, overlapped {overlap.total_seconds():.2f} s; the failed"
        f" run {'lay wholly' if inside else 'did not lie wholly'} within the completed one",
    )
    assert overlap.total_seconds() > 0

    files = sorted(p for p in outcome.landing.rglob("*") if p.is_file())
    assert f"{len(files)} release file(s) seen: {len(files)} loaded" in run_summary(prefect, winner)
    # Each release exactly once, nothing doubled, the sample's totals for the months loaded.
    releases = query(outcome.warehouse, "select release_id, status from meta.releases")
    assert sorted(releases) == sorted((sha256_file(p), "loaded") for p in files)
    doubled = query(
        outcome.warehouse,
        "select count(*) from (select release_id, source_row from core.trade_detailed "
        "group by all having count(*) > 1)",
    )
    assert doubled == [(0,)]
    with EXPECTED_TOTALS.open(newline="", encoding="utf-8") as handle:
        expected = {
            (r["period"], r["partner_code"], r["flow"]): int(r["value"])
            for r in csv.DictReader(handle)
            if r["currency"] == "USD" and r["period"] in MONTHS
        }
    actual = {
        (period, partner, flow): value
        for period, partner, flow, value in query(
            outcome.warehouse,
            "select strftime(period, '%Y-%m'), partner_code, flow, value_usd "
            "from marts.trade_monthly where flow <> 'total'",
        )
    }
    assert expected and actual == expected
    assert query(outcome.warehouse, "select count(*) from meta.runs") == [(1,)]


def test_a_third_run_afterwards_completes_and_loads_nothing(
    outcome: Outcome, capsys: pytest.CaptureFixture[str]
) -> None:
    prefect = outcome.prefect
    before = outcome.warehouse.stat().st_mtime_ns
    parameters = {"landing_dir": str(outcome.landing), "warehouse_path": str(outcome.warehouse)}
    with prefect.client() as client:
        third = client.create_flow_run_from_deployment(
            outcome.deployment_id, parameters=parameters, name="afterwards"
        )
    [third] = wait_for_final(prefect, [third])
    show(capsys, "\nThe run afterwards:\n  " + describe(prefect, third))
    assert third.state is not None and third.state.is_completed(), third.state
    files = len([p for p in outcome.landing.rglob("*") if p.is_file()])
    assert f"{files} release file(s) seen: 0 loaded" in run_summary(prefect, third)
    assert outcome.warehouse.stat().st_mtime_ns == before
    assert query(outcome.warehouse, "select count(*) from meta.runs") == [(1,)]
