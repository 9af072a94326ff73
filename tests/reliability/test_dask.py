"""The flow on a real Dask cluster: a `dask scheduler` and two `dask worker` processes started
from the project's environment on 127.0.0.1, the flow run against them (CUSTOMS_DASK_ADDRESS)
on generated national-format files.

- Both workers parse releases (each parsed file is logged with the worker that parsed it) and
  validate, and the marts equal, table by table, those of a run without the setting.
- One worker killed with SIGKILL while it parses: the scheduler gives its task to the other
  worker, and the run still ends with every release loaded once and the same marts.

Every process the test starts is ended at the end, also when it fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from support import PROJECT_DIR, SEEDS_DIR

from flows.build_warehouse import build_warehouse

DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT = 60
MONTHS, ROWS_PER_MONTH, ROWS_PER_FILE = 2, 10_000, 250  # per flow: ~200 files, 40k rows
PARSED_FILE = re.compile(r"Parsed ((?:export|import)/\S+\.csv): \d+ rows, on tcp://")


@dataclass
class Cluster:
    address: str
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: threading.Thread | None = None
    failure: list[BaseException] = field(default_factory=list)

    def ready(self) -> None:
        """Wait for the workers started in the background (see the cluster fixture)."""
        assert self.started is not None
        self.started.join(START_TIMEOUT * 2)
        assert not self.started.is_alive(), "the Dask workers did not start in time"
        if self.failure:
            raise self.failure[0]

    def start(self, name: str, *args: str) -> None:
        """A dask command in its own session (its own process group), output to its log."""
        env = os.environ | {
            "PREFECT_HOME": str(self.logs / "prefect-home"),
            "GX_ANALYTICS_ENABLED": "False",
            "DO_NOT_TRACK": "1",
        }
        with (self.logs / f"{name}.log").open("wb") as out:
            self.processes[name] = subprocess.Popen(
                [str(DASK), *args],
                cwd=PROJECT_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def worker(self, name: str) -> None:
        self.start(
            name,
            "worker",
            self.address,
            "--name",
            name,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--memory-limit",
            "1GB",
            "--no-nanny",  # the process killed is the worker itself, not a nanny that restarts it
            "--no-dashboard",
            "--local-directory",
            str(self.logs / f"{name}-scratch"),
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to each process group the test started, SIGKILL to what is left."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    cluster = Cluster(f"tcp://127.0.0.1:{port}", logs)
    try:
        cluster.start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"
        )
        cluster.worker("w1")
        cluster.worker("w2")

        def join_and_warm() -> None:
            # While the local run goes on: both workers joined, and each has imported what a
            # long-lived worker has in memory (Prefect, the flow, Great Expectations).
            try:
                with Client(cluster.address, timeout=f"{START_TIMEOUT}s") as client:
                    client.wait_for_workers(2, timeout=START_TIMEOUT)
                    for module in ("flows.build_warehouse", "great_expectations"):
                        client.run(importlib.import_module, module)
            except BaseException as error:
                cluster.failure.append(error)

        cluster.started = threading.Thread(target=join_and_warm, daemon=True)
        cluster.started.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = PROJECT_DIR / "scripts" / "generate_national.py"
    spec = importlib.util.spec_from_file_location("generate_national", path)
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator  # dataclasses look their module up
    spec.loader.exec_module(generator)
    root = tmp_path_factory.mktemp("landing")
    generator.generate(
        root,
        months=MONTHS,
        rows_per_month=ROWS_PER_MONTH,
        start="2025-01",
        seeds_dir=SEEDS_DIR,
        max_rows_per_file=ROWS_PER_FILE,
    )
    return root


def run(root: Path, landing: Path, patch: pytest.MonkeyPatch, dask_address: str | None) -> Path:
    """One run of the flow in this process into a warehouse of its own; its published path."""
    patch.setenv("CUSTOMS_WORK_DIR", str(root / "work"))
    patch.setenv("CUSTOMS_EXPECTATIONS_DIR", str(root / "expectations"))
    patch.setenv("CUSTOMS_LANDING_ZONE_DIR", str(root / "landing_zone"))
    if dask_address:
        patch.setenv("CUSTOMS_DASK_ADDRESS", dask_address)
    else:
        patch.delenv("CUSTOMS_DASK_ADDRESS", raising=False)
    import shutil

    shutil.copytree(
        PROJECT_DIR / "expectations",
        root / "expectations",
        ignore=shutil.ignore_patterns("validations", "data_docs"),
    )
    published = root / "warehouse" / "customs.duckdb"
    summary = build_warehouse(str(landing), str(published))
    files = len(list(landing.rglob("*.csv")))
    assert (len(summary.loaded), summary.rejected, summary.published) == (files, {}, True)
    assert summary.rows_loaded == MONTHS * 2 * ROWS_PER_MONTH
    return published


def marts_digests(published: Path) -> dict[str, tuple[int, str]]:
    """Every table of the marts schema: (rows, SHA-256 of its rows in order), without the
    columns saying when this run did something (`*_at`: received_at differs run to run)."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        digests = {}
        for table in tables:
            columns = [
                f'"{name}"'
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'marts' and table_name = ? and not ends_with(column_name, '_at') "
                    "order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            rows = con.execute(
                f"select {', '.join(columns)} from marts.{table} order by all"
            ).fetchall()
            digests[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        [(releases,)] = con.execute(
            "select count(*) from meta.releases where status = 'loaded'"
        ).fetchall()
    finally:
        con.close()
    digests["(releases loaded)"] = (releases, "")
    return digests


@pytest.fixture(scope="module")
def local_marts(
    prefect_harness: None, landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str]]:
    with pytest.MonkeyPatch.context() as patch:
        published = run(tmp_path_factory.mktemp("local"), landing, patch, None)
    return marts_digests(published)


def parsed_files(text: str) -> set[str]:
    return set(PARSED_FILE.findall(text))


def test_both_workers_parse_and_the_marts_equal_a_local_run(
    cluster: Cluster,
    landing: Path,
    local_marts: dict[str, tuple[int, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster.ready()
    before = {name: len(cluster.log(name)) for name in ("w1", "w2")}
    published = run(tmp_path, landing, monkeypatch, cluster.address)

    assert marts_digests(published) == local_marts
    assert len(local_marts) > 10  # every mart compared, not an empty schema
    new = {name: cluster.log(name)[before[name] :] for name in ("w1", "w2")}
    for name, text in new.items():
        assert parsed_files(text), f"worker {name} parsed nothing:\n{text[-2000:]}"
        assert "validate-releases" in text, f"worker {name} validated nothing"
    # Each release parsed once, by one worker or the other.
    assert parsed_files(new["w1"]).isdisjoint(parsed_files(new["w2"]))
    every = {p.relative_to(landing).as_posix() for p in landing.rglob("*.csv")}
    assert parsed_files(new["w1"]) | parsed_files(new["w2"]) == every
    counts = {name: len(parsed_files(text)) for name, text in new.items()}
    print(f"Parsed by worker: {counts}; {len(local_marts) - 1} marts equal to the local run")


def test_a_worker_killed_mid_run_does_not_lose_the_run(
    cluster: Cluster,
    landing: Path,
    local_marts: dict[str, tuple[int, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """w1 is killed (SIGKILL) as soon as it has parsed its first file of this run: the rest of
    its task is in flight. The run ends exact, and w2 parsed what w1 was parsing."""
    cluster.ready()
    before = {name: len(cluster.log(name)) for name in ("w1", "w2")}
    killed: list[str] = []
    stop = threading.Event()

    def kill_w1_once_it_parses() -> None:
        while not stop.is_set():
            if parsed_files(cluster.log("w1")[before["w1"] :]):
                os.killpg(cluster.processes["w1"].pid, signal.SIGKILL)
                killed.append(cluster.log("w1")[before["w1"] :])
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_w1_once_it_parses, daemon=True)
    watcher.start()
    try:
        published = run(tmp_path, landing, monkeypatch, cluster.address)
    finally:
        stop.set()
        watcher.join()

    assert killed, "w1 never parsed a file: the kill did not happen"
    assert cluster.processes["w1"].wait(timeout=10) == -signal.SIGKILL
    assert marts_digests(published) == local_marts
    by_w1 = parsed_files(killed[0])
    by_w2 = parsed_files(cluster.log("w2")[before["w2"] :])
    every = {p.relative_to(landing).as_posix() for p in landing.rglob("*.csv")}
    assert by_w2 == every, "w2 did not parse everything after w1 was lost"
    assert by_w1 & by_w2, "w1's task in flight was not run again on w2"
    print(
        f"w1 killed after parsing {len(by_w1)} file(s); w2 parsed all {len(by_w2)} files, "
        f"{len(by_w1 & by_w2)} of them again; marts equal to the local run"
    )


def test_an_address_without_a_scheduler_is_one_clear_line_and_builds_nothing(
    prefect_harness: None, landing: Path, tmp_path: Path
) -> None:
    """`customs-etl run` with CUSTOMS_DASK_ADDRESS naming a port where no scheduler listens."""
    from prefect.settings import PREFECT_API_URL

    address = f"tcp://127.0.0.1:{free_port()}"
    published = tmp_path / "warehouse" / "customs.duckdb"
    env = os.environ | {
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "CUSTOMS_DASK_ADDRESS": address,
        "CUSTOMS_DASK_CONNECT_TIMEOUT_SECONDS": "2",
        "CUSTOMS_WORK_DIR": str(tmp_path / "work"),
    }
    command = Path(sys.executable).with_name("customs-etl")
    done = subprocess.run(
        [command, "run", "--landing", landing, "--warehouse", published],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"CUSTOMS_DASK_ADDRESS={address}: no Dask scheduler answered within 2 s" in done.stderr
    assert "Nothing was built." in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not published.exists()
    assert not list(tmp_path.rglob("*.build"))  # no build was started
