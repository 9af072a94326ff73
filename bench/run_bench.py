"""Benchmark the job at national scale, in one session on the same generated files.

    .venv/bin/python bench/run_bench.py --scale smoke|medium|full [--profile] [--no-docs]
    make bench BENCH_SCALE=medium

1. Generate (or reuse) national-scale English exports with scripts/generate_national.py.
2. The floor: plain DuckDB `read_csv` of every backfill file into a table.
3. The product: a backfill of the backfill months through the real flow `build_warehouse`,
   under a temporary Prefect server (`prefect_test_harness`); then an incremental run that adds
   the next month; then a run with nothing new. Each run is a fresh process, as under a
   deployment's process worker, timed per stage by timing wrappers around the plain functions
   the flow's tasks call (module attributes looked up at call time; the flow code is not
   changed) and cross-checked with the task runs the Prefect server recorded.
   `--profile` also runs the backfill under cProfile (profile/backfill.pstats and .txt).
4. The BI side: the queries a dashboard issues (sql/examples/*.sql and half-year/yearly
   lookups), median of several runs on the published warehouse; then each mart model re-run on
   a copy, to show where the marts stage spends its time.
5. Peak RSS: each flow run's process (getrusage, exact) and the whole process tree (this
   process, the flow run and the Prefect server), sampled from /proc.

6. The peer: dlt (pinned in PEER_REQUIREMENTS) loading the same backfill files raw into DuckDB
   with `read_csv_duckdb(use_pyarrow=True)` (bench/dlt_peer.py), in its own environment
   `.bench-venv` made with uv: the product does not depend on dlt.
7. All of the above at a second shape (SECOND_SHAPES: ~230k rows a month over 18 months in
   download-sized files; smoke: the same shape made small), then both shapes side by side:
   floor, dlt, the product, their ratios, peak memory, the incremental month and the
   no-change flow run (Prefect's; `customs-etl run` is the fixed cost of a run above).
   Then the fixed cost of a run: `customs-etl run` on the published warehouse with nothing
   new, FIXED_COST_RUNS times, each a fresh process (median and min against the 2 s target;
   `--fixed-cost-only` measures just that, on the warehouse `make run` built).
8. Dask, on the first shape: a `dask scheduler` and 1, then 2 workers (1 thread each) on
   127.0.0.1, the backfill again through CUSTOMS_DASK_ADDRESS: the speedup, the part that fans
   out and the part that stays serial, and what N workers would give (Amdahl).
   `--skip peer second-shape dask` leaves parts out.

Prints a table and the final lines of ratios, and appends the results with the machine's
description to docs/benchmarks.md. Everything it writes lives under .customs/bench/<scale>/
(the generated files are kept and reused while the parameters match).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import functools
import importlib
import itertools
import json
import os
import platform
import pstats
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import generate_national  # noqa: E402  (scripts/ is not a package)


@dataclass(frozen=True)
class Scale:
    backfill_months: int
    rows_per_month: int  # both flows together
    max_rows_per_file: int = generate_national.MAX_ROWS_PER_FILE


SCALES = {
    "smoke": Scale(3, 20_000),
    "medium": Scale(12, 200_000),
    "full": Scale(12, 1_000_000),
}
# The second shape: many months of a few hundred thousand rows in download-sized files, as a
# real set of GACC query exports (4.1M rows in 360 files over 18 months). Smoke: the same
# shape made small (files of 1,000 rows, so that there are still a few per month and flow).
SECOND_SHAPES = {
    "smoke": Scale(6, 23_000, 1_000),
    "medium": Scale(18, 230_000),
    "full": Scale(18, 230_000),
}
# The peer, in an environment of its own (the product does not depend on it): dlt's raw load.
PEER_VENV = PROJECT_DIR / ".bench-venv"
PEER_REQUIREMENTS = ("dlt[duckdb,filesystem]==1.31.0", "duckdb==1.5.5", "pyarrow==26.0.1")
UV = PROJECT_DIR / ".tools" / "bin" / "uv"
DASK = Path(sys.executable).with_name("dask")
LAST_BACKFILL_MONTH = "2025-06"  # backfill ends here, so H1 2025 is complete; +1 = 2025-07
BI_RUNS = 9
TARGETS = {
    "backfill_over_floor": 3.0,
    "incremental_over_month": 1.5,
    "peak_rss_gb": 1.5,
    "dashboard_ms": 100.0,
    "fixed_cost_s": 2.0,
}
# `customs-etl run` with nothing new, each a fresh process: the fixed cost of a run (issue 18).
FIXED_COST_RUNS = 5
CLI = Path(sys.executable).with_name("customs-etl")
DOCS = PROJECT_DIR / "docs" / "benchmarks.md"
DOCS_INTRO = """# Benchmarks

`make bench` (`bench/run_bench.py`) measures the job at national scale on constructed data in
GACC's English export format (`scripts/generate_national.py`: 8-digit commodities x partners x
customs regimes, skewed like real trade, files split under the 10,000-row download cap). One
session, the same files: the floor (DuckDB reading the CSVs into a table), a backfill through
the real Prefect flow, an incremental month, a run with nothing new, and the dashboard queries.
`make bench BENCH_SCALE=smoke|medium|full` (smoke: 3+1 months x 20k rows/month, about a minute;
medium: 12+1 x 200k; full: 12+1 x ~1M rows/month).

Targets:

- a backfill costs at most 3x the floor (aim: 2x);
- peak RSS at most 1.5 GB, and flat in the number of months;
- an incremental month costs at most 1.5x a backfill month;
- a run with nothing new parses and validates nothing;
- the fixed cost of a run (`customs-etl run` with nothing new, a fresh process) is at most 2 s;
- every dashboard query answers in under 100 ms.

Results are appended below by each run, newest last, with the machine they ran on. The machines
are shared and noisy: compare ratios within one run, not seconds across runs.

## Results
"""


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Calls:
    seconds: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Wall time: calls running at once (files staged concurrently) count once."""
        wall, reached = 0.0, float("-inf")
        for start, end in sorted(self.spans):
            wall += max(0.0, end - max(start, reached))
            reached = max(reached, end)
        return wall


class Timings:
    """Seconds per named stage, per call, for the run in progress."""

    def __init__(self) -> None:
        self.calls: dict[str, Calls] = defaultdict(Calls)
        self.lock = threading.Lock()

    def add(self, name: str, started: float, ended: float, rows: int = 0) -> None:
        with self.lock:
            self.calls[name].seconds.append(ended - started)
            self.calls[name].rows.append(rows)
            self.calls[name].spans.append((started, ended))

    def reset(self) -> dict[str, Calls]:
        with self.lock:
            done, self.calls = dict(self.calls), defaultdict(Calls)
        return done


TIMINGS = Timings()


class Timed:
    """A timing wrapper in place of owner.attribute. Pickled (the flow's task runs sent to a
    Dask worker carry the flow function and what it refers to) as `getattr(owner, attribute)`,
    which is the unwrapped original in the worker's process."""

    def __init__(
        self, owner: Any, attribute: str, name: str, rows_of: Callable[..., int] | None
    ) -> None:
        self.owner, self.attribute, self.name, self.rows_of = owner, attribute, name, rows_of
        self.original = getattr(owner, attribute)
        self.__wrapped__ = self.original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self.original(*args, **kwargs)
        rows = 0
        if self.rows_of is not None:
            with contextlib.suppress(Exception):
                rows = int(self.rows_of(result, *args, **kwargs))
        TIMINGS.add(self.name, started, time.perf_counter(), rows)
        return result

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        """As a method of a class: bound to the instance, like the function it replaces."""
        return self if instance is None else functools.partial(self, instance)

    def __reduce__(self) -> tuple[Any, tuple[Any, str]]:
        return getattr, (self.owner, self.attribute)


def timed(
    module: Any, attribute: str, name: str, rows_of: Callable[..., int] | None = None
) -> None:
    """Replace module.attribute by a wrapper that records its wall time under `name`."""
    if getattr(module, attribute, None) is None:  # the product moved on: say so, do not fail
        print(f"bench: {module.__name__}.{attribute} not found; '{name}' is not measured")
        return
    setattr(module, attribute, Timed(module, attribute, name, rows_of))


def instrument() -> None:
    """Timing wrappers around the plain functions the flow's tasks call."""
    import flows.build_warehouse as flow_module
    from customs_etl import job, seeds
    from customs_etl.extract.landing_zone import LandingZone
    from customs_etl.load import loader, models, registry
    from customs_etl.publish import build as publication
    from customs_etl.transform import parse
    from customs_etl.validate import detailed, expectations

    timed(job, "discover_release_files", "discover: list files")
    timed(LandingZone, "checksum", "discover: sha256 per file")
    timed(LandingZone, "receive", "discover: keep in landing zone")
    timed(registry, "loaded_release_ids", "discover: loaded ids")
    timed(publication, "start_build", "start build (spare or copy)")
    timed(models, "prepare_schema", "prepare schema")
    timed(expectations, "clear_results", "clear GX results")
    timed(parse, "parse_release", "parse", lambda r, *a, **k: r.row_count)
    timed(parse, "parse_detailed_export", "parse: export", lambda r, *a, **k: r.frame.height)
    timed(parse, "to_canonical", "parse: canonical", lambda r, *a, **k: r.height)
    timed(seeds, "partners", "parse+validate: read partners seed")
    timed(
        detailed,
        "validate_parsed_batch",
        "validate",
        lambda r, b, *a, **k: sum(s.row_count for s in b),
    )
    timed(parse, "read_parsed", "validate: read parquet", lambda r, *a, **k: r.height)
    timed(expectations, "_to_pandas", "validate: to pandas", lambda r, *a, **k: len(r))
    timed(expectations, "_context", "validate: GX import + context (once)")
    timed(
        loader,
        "load_releases",
        "load",
        lambda r, *a, **k: sum(v for v in r.values() if isinstance(v, int)),
    )
    timed(
        loader,
        "_load_together",
        "load: one month and flow",
        lambda r, con, group, *a, **k: sum(record.row_count or 0 for _, record in group),
    )
    timed(loader, "_grain_delivered_twice", "load: duplicate-grain check")
    timed(expectations, "build_data_docs", "GX data docs")
    timed(models, "build_models", "marts")
    timed(publication, "publish", "publish")
    timed(flow_module, "publish_run_artifacts", "artifacts")
    # What the flow waits for while parsing and validation fan out (on a Dask cluster: the
    # part that more workers shorten; the rest of the run is serial).
    from flows import compute

    for module in (flow_module, compute):
        timed(module, "_parse_chunks", "fan-out: parse")
        timed(module, "_validate_batches", "fan-out: validate")


class RssSampler:
    """Peak resident memory of this process and of its whole process tree, from /proc."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.phase = "setup"
        self.peaks: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))  # (self, tree)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        own, tree = tree_rss(os.getpid())
        with self._lock:
            peak_own, peak_tree = self.peaks[self.phase]
            self.peaks[self.phase] = (max(peak_own, own), max(peak_tree, tree))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def peak(self, *phases: str) -> tuple[int, int]:
        chosen = [self.peaks[p] for p in (phases or tuple(self.peaks))]
        return max((p[0] for p in chosen), default=0), max((p[1] for p in chosen), default=0)


def tree_rss(root: int) -> tuple[int, int]:
    """(RSS of root, RSS of root and all its descendants) in bytes."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat[1])  # fields after "(comm)": state, ppid, ...
        rss[pid] = int(stat[21]) * page  # rss in pages (field 24 of stat)
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return rss.get(root, 0), total


SAMPLER = RssSampler()


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    previous, SAMPLER.phase = SAMPLER.phase, name
    SAMPLER.sample()
    try:
        yield
    finally:
        SAMPLER.sample()
        SAMPLER.phase = previous


# --- the session ----------------------------------------------------------------------------


@dataclass
class RunResult:
    name: str
    wall: float
    rows_loaded: int
    files_loaded: int
    files_skipped: int
    published: bool
    stages: dict[str, Calls]
    task_runs: dict[str, tuple[int, float]]  # task name -> (count, seconds) from the server
    process_wall: float = 0.0  # the whole child process: imports, flow, exit
    maxrss: int = 0  # the child's exact peak RSS (getrusage)
    rss_samples: list[tuple[float, int]] = field(default_factory=list)  # (perf_counter, bytes)
    cpu_samples: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, cpu s)


@dataclass
class Session:
    scale_name: str
    scale: Scale
    root: Path
    months: list[str]
    generated_seconds: float | None = None
    data_rows: dict[str, int] = field(default_factory=dict)  # period -> rows (both flows)
    data_files: dict[str, list[Path]] = field(default_factory=dict)  # period -> files
    floor: dict[str, float] = field(default_factory=dict)
    runs: list[RunResult] = field(default_factory=list)
    bi: list[tuple[str, float, float, float, int]] = field(default_factory=list)
    marts_breakdown: list[tuple[str, float, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cold_start_gx: float = 0.0
    peer: dict[str, float] = field(default_factory=dict)  # dlt: seconds, rows, maxrss
    dask_runs: dict[int, RunResult] = field(default_factory=dict)  # workers -> backfill run
    fixed_cost: list[float] = field(default_factory=list)  # seconds of each CLI no-change run

    @property
    def backfill_months(self) -> list[str]:
        return self.months[: self.scale.backfill_months]

    @property
    def backfill_files(self) -> list[Path]:
        return [p for m in self.backfill_months for p in self.data_files[m]]

    @property
    def backfill_rows(self) -> int:
        return sum(self.data_rows[m] for m in self.backfill_months)


def months_for(scale: Scale) -> list[str]:
    year, month = map(int, LAST_BACKFILL_MONTH.split("-"))
    first = (year * 12 + month - 1) - (scale.backfill_months - 1)
    start = f"{first // 12:04d}-{first % 12 + 1:02d}"
    return generate_national.months_from(start, scale.backfill_months + 1)


def prepare_data(session: Session, seed: int, regenerate: bool) -> None:
    """Generate the files once per parameters; later sessions reuse them."""
    data = session.root / "data"
    params = {
        "months": session.months,
        "rows_per_month_per_flow": session.scale.rows_per_month // 2,
        "max_rows_per_file": session.scale.max_rows_per_file,
        "seed": seed,
        "generator": (PROJECT_DIR / "scripts" / "generate_national.py").stat().st_mtime_ns,
    }
    stamp = data / ".params.json"
    if regenerate or not stamp.exists() or json.loads(stamp.read_text()) != params:
        # In a subprocess, so that its memory does not count as the job's peak RSS.
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        command = [
            sys.executable,
            str(PROJECT_DIR / "scripts" / "generate_national.py"),
            "--out",
            str(data),
            "--months",
            str(len(session.months)),
            "--rows-per-month",
            str(session.scale.rows_per_month // 2),
            "--start",
            session.months[0],
            "--seed",
            str(seed),
            "--max-rows-per-file",
            str(session.scale.max_rows_per_file),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        session.generated_seconds = time.perf_counter() - started
        session.notes.append(f"generator: {output.strip()}")
        print(output.strip())
        stamp.write_text(json.dumps(params))
    import polars as pl

    for month in session.months:
        files = sorted(data.glob(f"*/{month}/*.csv"))
        session.data_files[month] = files
        session.data_rows[month] = sum(
            pl.scan_csv(f, infer_schema=False).select(pl.len()).collect().item() for f in files
        )


def land(session: Session, months: list[str]) -> None:
    """Put the months' files into the landing folder (hard links: no copy, same bytes)."""
    landing = session.root / "landing"
    for month in months:
        for source in session.data_files[month]:
            target = landing / source.relative_to(session.root / "data")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def reset_state(root: Path) -> None:
    for name in ("landing", "work", "warehouse", "expectations", "prefect", "probe"):
        shutil.rmtree(root / name, ignore_errors=True)
    for name in ("floor.duckdb", "floor.duckdb.wal"):
        (root / name).unlink(missing_ok=True)


def isolate(root: Path, copy_expectations: bool = True) -> None:
    """The job's scratch, GX results and Prefect home under the bench folder, not the repo's."""
    expectations = root / "expectations"
    if copy_expectations:
        shutil.copytree(
            PROJECT_DIR / "expectations",
            expectations,
            ignore=shutil.ignore_patterns("validations", "data_docs"),
        )
    os.environ["CUSTOMS_WORK_DIR"] = str(root / "work")
    os.environ["CUSTOMS_EXPECTATIONS_DIR"] = str(expectations)
    os.environ["PREFECT_HOME"] = str(root / "prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def run_floor(session: Session) -> None:
    """In a subprocess of its own (DuckDB's memory is not the job's), sampled like the rest."""
    for path in session.backfill_files:  # the same warm page cache for floor and job
        path.read_bytes()
    listing = session.root / "floor-files.json"
    listing.write_text(json.dumps([str(p) for p in session.backfill_files]))
    with phase("floor"):
        output = subprocess.run(
            [sys.executable, __file__, "--floor", str(listing)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    listing.unlink()
    if result["rows"] != session.backfill_rows:
        raise RuntimeError(f"floor read {result['rows']} rows, expected {session.backfill_rows}")
    session.floor = {k: v for k, v in result.items() if k != "rows"}


def floor_main(listing: Path) -> None:
    """Plain DuckDB: every backfill file into one table, with the job's DuckDB settings."""
    import duckdb

    from customs_etl.settings import get_settings

    settings = get_settings()
    files = json.loads(listing.read_text())
    path = listing.with_name("floor.duckdb")
    typed = (
        "{'Date of data': 'VARCHAR', 'Trading partner code': 'VARCHAR', "
        "'Commodity code': 'VARCHAR', 'Customs Regime code': 'VARCHAR', 'Quantity': 'BIGINT', "
        "'Supplimentary Quantity': 'BIGINT', 'US dollar': 'BIGINT'}"
    )
    variants = {
        "typed": f"read_csv(?, header = true, quote = '\"', thousands = ',', types = {typed})",
        "all_varchar": "read_csv(?, header = true, quote = '\"', all_varchar = true)",
    }
    result: dict[str, float] = {}
    rows = 0
    for name, reader in variants.items():
        path.unlink(missing_ok=True)
        con = duckdb.connect(
            str(path),
            config={
                "threads": settings.duckdb_threads,
                "memory_limit": settings.duckdb_memory_limit,
            },
        )
        con.execute("set enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(f"create table trade as select * from {reader}", [files])
        con.execute("checkpoint")
        result[name] = time.perf_counter() - started
        [(rows,)] = con.execute("select count(*) from trade").fetchall()
        con.close()
    path.unlink(missing_ok=True)
    print(json.dumps(result | {"rows": rows}))


def peer_python() -> Path:
    """The peer's environment, made once with uv from the pinned requirements."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".requirements"
    if not (python.exists() and stamp.exists() and stamp.read_text() == repr(PEER_REQUIREMENTS)):
        quiet = {"capture_output": True, "text": True, "check": True}
        subprocess.run(
            [str(UV), "venv", "-q", "--clear", "--python", sys.executable, str(PEER_VENV)], **quiet
        )
        subprocess.run(
            [str(UV), "pip", "install", "-q", "--python", str(python), *PEER_REQUIREMENTS], **quiet
        )
        stamp.write_text(repr(PEER_REQUIREMENTS))
    return python


def run_peer(session: Session) -> None:
    """dlt's raw load of the backfill files (bench/dlt_peer.py in .bench-venv)."""
    python = peer_python()
    files = session.root / "peer" / "files"
    shutil.rmtree(session.root / "peer", ignore_errors=True)
    for source in session.backfill_files:  # the same files, hard-linked
        target = files / source.relative_to(session.root / "data")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    with phase("peer (dlt)"):
        output = subprocess.run(
            [python, PROJECT_DIR / "bench" / "dlt_peer.py", files, session.root / "peer"],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ | {"RUNTIME__DLTHUB_TELEMETRY": "false"},
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    if result["rows"] != session.backfill_rows:
        raise RuntimeError(f"dlt loaded {result['rows']} rows, expected {session.backfill_rows}")
    session.peer = result
    shutil.rmtree(session.root / "peer", ignore_errors=True)


# --- Dask: 1 against 2 workers ----------------------------------------------------------------


class DaskCluster:
    """A `dask scheduler` and workers on 127.0.0.1 from the project's environment, each in a
    process group of its own, ended by their ids."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)

    def _start(self, name: str, *args: str) -> None:
        with (self.root / f"{name}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    [str(DASK), *args],
                    cwd=PROJECT_DIR,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def start_scheduler(self) -> None:
        self._start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--no-dashboard",
        )  # fmt: skip

    def add_worker(self, count: int) -> None:
        """Start a worker (1 thread) and wait until `count` are in, each with the flow's
        modules and Great Expectations imported (a long-lived worker's state)."""
        from distributed import Client

        name = f"worker-{len(self.processes)}"
        self._start(
            name, "worker", self.address, "--name", name, "--host", "127.0.0.1",
            "--nthreads", "1", "--memory-limit", "2GB", "--no-nanny", "--no-dashboard",
            "--local-directory", str(self.root / f"{name}-scratch"),
        )  # fmt: skip
        with Client(self.address, timeout="120s") as client:
            client.wait_for_workers(count, timeout=300)
            for module in ("flows.build_warehouse", "great_expectations"):
                client.run(importlib.import_module, module)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_run_state(root: Path) -> None:
    """A warehouse, landing zone and staging of nothing: the next run is a backfill again."""
    for name in ("landing", "work", "warehouse", "expectations"):
        shutil.rmtree(root / name, ignore_errors=True)
    shutil.copytree(
        PROJECT_DIR / "expectations",
        root / "expectations",
        ignore=shutil.ignore_patterns("validations", "data_docs"),
    )


def run_dask(session: Session) -> None:
    """The backfill again on a Dask cluster of 1, then 2 workers (1 thread each), from a
    fresh warehouse each time: what fans out, and what stays serial."""
    cluster = DaskCluster(session.root / "dask")
    try:
        cluster.start_scheduler()
        for workers in (1, 2):
            cluster.add_worker(workers)
            fresh_run_state(session.root)
            land(session, session.backfill_months)
            session.dask_runs[workers] = run_flow(
                session, f"dask-{workers}", env={"CUSTOMS_DASK_ADDRESS": cluster.address}
            )
    finally:
        cluster.stop()


def run_flow(
    session: Session, name: str, profile: Path | None = None, env: dict[str, str] | None = None
) -> RunResult:
    """One run of the flow in a fresh process, as a deployment's process worker runs it,
    against the session's Prefect server; timings come back as JSON."""
    import prefect.settings

    result = session.root / f"run-{name}.json"
    command = [
        sys.executable,
        __file__,
        "--run-flow",
        name,
        "--root",
        str(session.root),
        "--result",
        str(result),
    ]
    if profile:
        command += ["--profile-to", str(profile)]
    api = {"PREFECT_API_URL": str(prefect.settings.PREFECT_API_URL.value())}
    env = os.environ | api | (env or {})
    with phase(name):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        process_wall = time.perf_counter() - started
    data = json.loads(result.read_text())
    result.unlink()
    if data["failed"]:
        raise RuntimeError(f"the {name} run failed: {data['failed']}")
    if data["rejected"]:
        raise RuntimeError(f"the {name} run rejected files: {data['rejected']}")
    return RunResult(
        name=name,
        wall=data["flow_wall"],
        rows_loaded=data["rows_loaded"],
        files_loaded=data["files_loaded"],
        files_skipped=data["files_skipped"],
        published=data["published"],
        stages={
            k: Calls(v["seconds"], v["rows"], [tuple(span) for span in v["spans"]])
            for k, v in data["stages"].items()
        },
        task_runs=task_runs_of(data["flow_run_id"]),
        process_wall=process_wall,
        maxrss=data["maxrss"],
        rss_samples=[(t, b) for t, b in data["rss_samples"]],
        cpu_samples=[(t, c) for t, c in data["cpu_samples"]],
    )


def flow_child(name: str, root: Path, result: Path, profile: Path | None) -> None:
    """The child process of run_flow: instrument, run the flow once, write the timings."""
    isolate(root, copy_expectations=False)
    instrument()
    from flows.build_warehouse import build_warehouse

    profiler = cProfile.Profile() if profile else None
    samples, cpu_samples, sampling = own_rss_samples()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    state = build_warehouse(
        str(root / "landing"), str(root / "warehouse" / "customs.duckdb"), return_state=True
    )
    if profiler:
        profiler.disable()
    flow_wall = time.perf_counter() - started
    sampling.set()
    if profiler and profile:
        profile.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile)
    summary = state.result(raise_on_failure=False)
    ok = not state.is_failed() and hasattr(summary, "loaded")
    data = {
        "name": name,
        "flow_wall": flow_wall,
        "failed": None if ok else repr(summary),
        "rejected": summary.rejected if ok else {},
        "rows_loaded": summary.rows_loaded if ok else 0,
        "files_loaded": len(summary.loaded) if ok else 0,
        "files_skipped": len(summary.skipped) if ok else 0,
        "published": summary.published if ok else False,
        "flow_run_id": str(state.state_details.flow_run_id),
        "stages": {
            k: {"seconds": v.seconds, "rows": v.rows, "spans": v.spans}
            for k, v in TIMINGS.reset().items()
        },
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_samples": samples,
        "cpu_samples": cpu_samples,
    }
    result.write_text(json.dumps(data))


RSS_SAMPLE_SECONDS = 0.1


# (perf_counter, RSS bytes), (perf_counter, CPU seconds), and the event that stops sampling
Sampling = tuple[list[tuple[float, int]], list[tuple[float, float]], threading.Event]


def own_rss_samples() -> Sampling:
    """This process's RSS and CPU time (all threads, user + system) every 0.1 s, with
    perf_counter times (the clock of the stage spans), until the event is set: which stage the
    peak falls in, and how many cores each stage kept busy."""
    samples: list[tuple[float, int]] = []
    cpu: list[tuple[float, float]] = []
    stop = threading.Event()
    page = os.sysconf("SC_PAGE_SIZE")

    def sample() -> None:
        while not stop.wait(RSS_SAMPLE_SECONDS):
            with open("/proc/self/statm") as statm:
                now = time.perf_counter()
                samples.append((now, int(statm.read().split()[1]) * page))
            times = os.times()
            cpu.append((now, times.user + times.system))

    threading.Thread(target=sample, daemon=True).start()
    return samples, cpu, stop


def stage_spans(run: RunResult, names: tuple[str, ...]) -> list[tuple[float, float]]:
    """(start, end) of every call of the named stages, on the clock of the samples."""
    return [span for n in names if n in run.stages for span in run.stages[n].spans]


def cores_busy_by_stage(run: RunResult) -> list[tuple[str, float]]:
    """CPU seconds over wall seconds inside each stage's calls (2 = both cores busy): a stage
    near 1 leaves a core idle, which work overlapped with it could use."""
    busy: list[tuple[str, float]] = []
    pairs = list(itertools.pairwise(run.cpu_samples))
    for label, names in STAGE_ORDER:
        spans = stage_spans(run, names)
        inside = [
            (t1 - t0, c1 - c0)
            for (t0, c0), (t1, c1) in pairs
            if any(a <= (t0 + t1) / 2 <= b for a, b in spans)
        ]
        wall = sum(w for w, _ in inside)
        if wall >= 0.5:  # a few samples say little
            busy.append((label, sum(c for _, c in inside) / wall))
    return busy


def peak_rss_by_stage(run: RunResult) -> list[tuple[str, int]]:
    """The highest RSS sample inside each stage's calls (STAGE_ORDER), and outside them all."""
    peaks: list[tuple[str, int]] = []
    inside: set[int] = set()
    for label, names in STAGE_ORDER:
        spans = stage_spans(run, names)
        hits = [i for i, (t, _) in enumerate(run.rss_samples) if any(a <= t <= b for a, b in spans)]
        inside.update(hits)
        if hits:
            peaks.append((label, max(run.rss_samples[i][1] for i in hits)))
    rest = [b for i, (_, b) in enumerate(run.rss_samples) if i not in inside]
    if rest:
        peaks.append(("outside the stages (Prefect, connection close, ...)", max(rest)))
    return peaks


def task_runs_of(flow_run_id: str) -> dict[str, tuple[int, float]]:
    """Task runs the server recorded for a flow run: name -> (count, summed run time).

    Task run states reach the server as events, a moment after the flow returns: read until
    the count stops changing."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_id = uuid.UUID(flow_run_id)

    async def read() -> list[Any]:
        runs: list[Any] = []
        async with get_client() as client:
            while True:
                page = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                    limit=200,
                    offset=len(runs),
                )
                runs.extend(page)
                if len(page) < 200:
                    return runs

    previous, runs = -1, []
    for _ in range(60):
        runs = asyncio.run(read())
        finished = [r for r in runs if r.state and r.state.is_final()]
        if len(finished) == len(runs) and len(runs) == previous:
            break
        previous = len(runs)
        time.sleep(1.0)
    out: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        name = run.name.rsplit("-", 1)[0]  # "stage-release-a1b" -> "stage-release"
        out[name].append(run.total_run_time.total_seconds())
    return {k: (len(v), sum(v)) for k, v in sorted(out.items())}


# --- the BI side ----------------------------------------------------------------------------

DASHBOARD_QUERIES = {
    "half-year lookup (USA, H1 2025)": """
        select value_usd, value_usd_prev_year, yoy_pct, months_covered
        from marts.trade_half_year
        where year = 2025 and half = 'H1' and partner_iso3 = 'USA' and flow = 'total'""",
    "yearly lookup (PRK, total)": """
        select year, value_usd, yoy_pct, months_covered from marts.trade_yearly
        where partner_iso3 = 'PRK' and flow = 'total' order by year""",
    "top 10 partners (H1 2025)": """
        select partner_iso3, partner_name, value_usd from marts.trade_half_year
        where year = 2025 and half = 'H1' and flow = 'total'
        order by value_usd desc limit 10""",
    "monthly series (USA, both flows)": """
        select period, flow, value_usd, yoy_pct, ytd_value_usd from marts.trade_monthly
        where partner_iso3 = 'USA' order by period, flow""",
    "chapters of a partner (USA, H1 2025)": """
        select hs_code, any_value(hs_description) as hs_description, sum(value_usd) as value_usd
        from marts.trade_by_commodity_monthly
        where partner_iso3 = 'USA' and flow = 'export' and hs_level = 2
          and period between date '2025-01-01' and date '2025-06-01'
        group by hs_code order by value_usd desc""",
    "top 8-digit lines of a month (KOR, import)": """
        select hs_code, hs_description, value_usd from marts.trade_by_commodity_monthly
        where partner_iso3 = 'KOR' and flow = 'import' and hs_level = 8
          and period = date '2025-06-01'
        order by value_usd desc limit 20""",
    # The half-year commodity mart is a view that adds the months up as it is read: a
    # dashboard's half of one partner must still answer within the target.
    "chapters of a half (USA, H1 2025, export)": """
        select hs_code, hs_description, value_usd, value_usd_prev_year, yoy_pct
        from marts.trade_by_commodity_half_year
        where year = 2025 and half = 'H1' and partner_iso3 = 'USA' and flow = 'export'
          and hs_level = 2
        order by value_usd desc""",
    "top 8-digit lines of a half (KOR, import, H1 2025)": """
        select hs_code, hs_description, value_usd, yoy_pct, quantity, unit_value_usd
        from marts.trade_by_commodity_half_year
        where year = 2025 and half = 'H1' and partner_iso3 = 'KOR' and flow = 'import'
          and hs_level = 8
        order by value_usd desc limit 20""",
    # The HS 2017 series is a view over core.commodity_monthly's 6-digit rows, converting the
    # HS 2022 months as it is read: a month of one partner, and one chapter's series.
    "HS 2017 lines of a month (USA, export, 2025-06)": """
        select hs2017_code, any_value(hs2017_description) as hs2017_description,
               sum(value_usd) as value_usd, bool_and(is_exact) as is_exact
        from marts.trade_by_hs6_on_hs2017_monthly
        where partner_iso3 = 'USA' and flow = 'export' and period = date '2025-06-01'
        group by hs2017_code order by value_usd desc limit 20""",
    "HS 2017 series of a chapter (KOR, import, 85)": """
        select period, sum(value_usd) as value_usd, sum(value_usd) filter (is_exact) as exact_usd
        from marts.trade_by_hs6_on_hs2017_monthly
        where partner_iso3 = 'KOR' and flow = 'import' and hs2017_code like '85%'
        group by period order by period""",
    "lineage of a month (PRK, 2025-06)": """
        select flow, source_name, row_count, value_usd from marts.trade_monthly_sources
        where partner_iso3 = 'PRK' and period = date '2025-06-01' order by flow, source_name""",
}


def measure_cold_starts(session: Session) -> None:
    """What a fresh process pays before its first release (a deployment's worker starts one
    process per flow run; the benchmark runs all three in one process and pays it once)."""
    code = (
        "import time; t = time.perf_counter(); from pathlib import Path; "
        "from customs_etl.validate import expectations; "
        "expectations._load(Path({!r}).resolve(), 'detailed_trade'); "
        "g = time.perf_counter(); import flows.build_warehouse; "
        "print(g - t, time.perf_counter() - g)"
    ).format(os.environ["CUSTOMS_EXPECTATIONS_DIR"])
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    gx, flow = map(float, output.split())
    session.notes.append(
        f"cold start of a fresh process: Great Expectations import + context {gx:.1f} s, then "
        f"Prefect + the flow module {flow:.1f} s: paid by every run (each run here is a fresh "
        "process, as under a process worker)"
    )
    session.cold_start_gx = gx


def measure_fixed_cost(arguments: list[str], runs: int = FIXED_COST_RUNS) -> list[float]:
    """Wall seconds of `customs-etl run <arguments>` where nothing new arrived, each run a
    fresh process as a user or cron starts it: imports, settings, discovery of the unchanged
    files, the registry, the printed summary. Each must say "Warehouse unchanged."."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([str(CLI), "run", *arguments], capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0 or "Warehouse unchanged." not in done.stdout:
            raise RuntimeError(
                f"customs-etl run {' '.join(arguments)} is not a run with nothing new "
                f"(exit {done.returncode}): {done.stdout[-500:]}{done.stderr[-500:]}"
            )
    return seconds


def fixed_cost_line(seconds: list[float]) -> str:
    median, least = statistics.median(seconds), min(seconds)
    target = TARGETS["fixed_cost_s"]
    return (
        f"FIXED COST of a run (customs-etl run with nothing new, {len(seconds)} processes): "
        f"median {median:.2f} s, min {least:.2f} s (target <= {target:g} s): "
        f"{'met' if median <= target else 'missed'}"
    )


def run_bi(session: Session) -> None:
    from customs_etl.load import connection

    queries = {
        f"examples/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((PROJECT_DIR / "sql" / "examples").glob("*.sql"))
    } | DASHBOARD_QUERIES
    published = session.root / "warehouse" / "customs.duckdb"
    with phase("bi"):
        started = time.perf_counter()
        con = connection.connect(published, read_only=True)
        opened = time.perf_counter() - started
        session.notes.append(f"read-only connect to the published warehouse: {opened * 1e3:.0f} ms")
        for name, sql in queries.items():
            times = []
            rows = 0
            for _ in range(BI_RUNS):
                started = time.perf_counter()
                rows = len(con.execute(sql).fetchall())
                times.append((time.perf_counter() - started) * 1e3)
            session.bi.append((name, times[0], statistics.median(times[1:]), max(times[1:]), rows))
        con.close()


def probe_marts(session: Session) -> None:
    """Time each select model on a copy of the published warehouse (the benchmark's own copy of
    models.build's loop for a full build, incremental models in chunks of months as there), to
    show which model the marts stage spends its time on."""
    import duckdb

    from customs_etl.load import connection, models, registry
    from customs_etl.settings import get_settings

    settings = get_settings()
    probe = session.root / "probe" / "customs.duckdb"
    probe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(session.root / "warehouse" / "customs.duckdb", probe)
    con = connection.connect(probe, threads=settings.duckdb_threads)
    variables = {"seeds_dir": str(settings.seeds_dir.resolve())}
    every_month = registry.core_months(con)
    with phase("probe"):
        selects = [m for m in models.discover_models(settings.sql_dir) if not m.is_ddl]
        # One model per transaction: the probe must not hold every model's undo in memory.
        for model in models.ordered(selects):
            kind = model.materialization
            body = models.render(model.sql, variables).strip().rstrip(";")
            started = time.perf_counter()
            try:
                if spec := model.incremental:  # in chunks of months, as the flow's full build
                    chunks = spec.chunks(every_month, models.CHUNK_MONTHS)
                    models._build_in_chunks(con, model, spec, body, chunks)
                else:
                    models.set_touched(con, None)
                    con.execute(f"create or replace {kind} {model.name} as\n{body}")
            except duckdb.Error as error:  # the breakdown says so instead of losing the run
                session.marts_breakdown.append((f"{model.name} FAILED: {error}"[:160], 0.0, 0))
                break
            seconds = time.perf_counter() - started
            rows = 0
            if kind == "table":
                [(rows,)] = con.execute(f"select count(*) from {model.name}").fetchall()
            session.marts_breakdown.append((model.name, seconds, rows))
        started = time.perf_counter()
        con.execute("checkpoint")
        session.marts_breakdown.append(("(checkpoint)", time.perf_counter() - started, 0))
    [(core_rows,)] = con.execute("select count(*) from core.trade_detailed").fetchall()
    con.close()
    size = (session.root / "warehouse" / "customs.duckdb").stat().st_size
    session.notes.append(
        f"published warehouse: {size / 1e6:,.0f} MB, core.trade_detailed {core_rows:,} rows"
    )
    shutil.rmtree(probe.parent, ignore_errors=True)


# --- reporting ------------------------------------------------------------------------------

STAGE_ORDER = (
    (
        "discover (+ keep in landing zone)",
        (
            "discover: list files",
            "discover: sha256 per file",
            "discover: keep in landing zone",
            "discover: loaded ids",
        ),
    ),
    ("start build (spare or copy)", ("start build (spare or copy)", "prepare schema")),
    ("parse (-> Parquet)", ("parse",)),
    ("validate (GX)", ("validate", "clear GX results")),
    ("load (DuckDB)", ("load",)),
    ("GX data docs", ("GX data docs",)),
    ("marts", ("marts",)),
    ("publish (+ artifacts)", ("publish", "artifacts")),
)
DETAILS = (
    "validate: GX import + context (once)",
    "parse: export",
    "parse: canonical",
    "parse+validate: read partners seed",
    "validate: read parquet",
    "validate: to pandas",
    "load: one month and flow",
    "load: duplicate-grain check",
    "discover: sha256 per file",
    "discover: keep in landing zone",
)


def per_file_fit(calls: Calls) -> tuple[float, float] | None:
    """Least squares seconds = a + b * rows over the calls: (a per file, rows/s from b)."""
    n = len(calls.seconds)
    if n < 3 or len(set(calls.rows)) < 2:
        return None
    mean_x = sum(calls.rows) / n
    mean_y = sum(calls.seconds) / n
    sxx = sum((x - mean_x) ** 2 for x in calls.rows)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(calls.rows, calls.seconds, strict=True))
    slope = sxy / sxx
    return mean_y - slope * mean_x, (1 / slope if slope > 0 else float("inf"))


def growth(calls: Calls) -> tuple[float, float] | None:
    """Mean seconds per 10k rows in the first and the last tenth of the calls."""
    n = len(calls.seconds)
    if n < 10:
        return None
    k = max(1, n // 10)

    def rate(seconds: list[float], rows: list[int]) -> float:
        return sum(seconds) / max(1, sum(rows)) * 10_000

    return rate(calls.seconds[:k], calls.rows[:k]), rate(calls.seconds[-k:], calls.rows[-k:])


def stage_rows(run: RunResult) -> list[tuple[str, int, float, float, str]]:
    rows = []
    measured = 0.0
    for label, names in STAGE_ORDER:
        seconds = sum(run.stages[n].total for n in names if n in run.stages)
        count = max((len(run.stages[n].seconds) for n in names if n in run.stages), default=0)
        measured += seconds
        rate = ""
        if label.startswith(("parse", "validate", "load")) and seconds > 0:
            rate = f"{run.rows_loaded / seconds:,.0f}"
        rows.append((label, count, seconds, seconds / run.process_wall, rate))
    other = run.wall - measured
    rows.append(("Prefect orchestration + other", 0, other, other / run.process_wall, ""))
    start = run.process_wall - run.wall
    rows.append(("process start + exit (imports)", 0, start, start / run.process_wall, ""))
    return rows


_FIXED_PER_RUN = (
    "process start + exit (imports)",
    "Prefect orchestration + other",
    "start build (spare or copy)",
)


def target_table(session: Session, measured: dict[str, float], *, nothing_done: bool) -> list[str]:
    """Each target met or missed; for a missed one, where the time goes (largest stages)."""
    backfill, incremental, _ = session.runs

    def largest(run: RunResult) -> str:
        rows = sorted(stage_rows(run), key=lambda row: row[2], reverse=True)[:3]
        return ", ".join(f"{label} {seconds:.1f} s" for label, _, seconds, _, _ in rows)

    fixed = sum(row[2] for row in stage_rows(incremental) if row[0] in _FIXED_PER_RUN)
    month = backfill.process_wall / session.scale.backfill_months
    causes = {
        "backfill_over_floor": f"largest stages of the backfill: {largest(backfill)}",
        "incremental_over_month": (
            f"fixed per run (process start, Prefect and other, copying the published file): "
            f"{fixed:.1f} s = {fixed / month:.2f}x a backfill month; largest stages: "
            f"{largest(incremental)}"
        ),
        "peak_rss_gb": "largest process: the flow run's (getrusage)",
        "dashboard_ms": "",
    }
    shown = {
        "backfill_over_floor": ("backfill / floor", "x"),
        "incremental_over_month": ("incremental month / backfill month", "x"),
        "peak_rss_gb": ("peak RSS of a flow run (GB)", ""),
        "dashboard_ms": ("slowest dashboard query median (ms)", ""),
    }
    lines = [
        "Targets:",
        "",
        "| target | measured | | where the time goes |",
        "| --- | ---: | --- | --- |",
    ]
    for key, (label, unit) in shown.items():
        met = measured[key] <= TARGETS[key]
        cause = "" if met else causes[key]
        lines.append(
            f"| {label} <= {TARGETS[key]:g}{unit} | {measured[key]:.2f}{unit} | "
            f"{'met' if met else 'missed'} | {cause} |"
        )
    verdict = "met" if nothing_done else "missed"
    lines.append(f"| no-change run parses and validates nothing | | {verdict} | |")
    if session.fixed_cost:
        median, least = statistics.median(session.fixed_cost), min(session.fixed_cost)
        met = median <= TARGETS["fixed_cost_s"]
        lines.append(
            f"| fixed cost of a run: `customs-etl run` with nothing new, median of "
            f"{len(session.fixed_cost)} processes <= {TARGETS['fixed_cost_s']:g} s "
            f"| {median:.2f} s (min {least:.2f} s) | {'met' if met else 'missed'} "
            f"| {'' if met else 'see docs/benchmarks.md, Fixed cost of a run'} |"
        )
    return lines


def validation_share(run: RunResult) -> float:
    names = ("validate", "clear GX results", "GX data docs")
    return sum(run.stages[n].total for n in names if n in run.stages) / run.process_wall


def machine() -> str:
    import duckdb
    import polars

    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GB"
                break
    import prefect

    gx_version = "?"
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        gx_version = version("great-expectations")
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory} RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"polars {polars.__version__}, prefect {prefect.__version__}, great-expectations "
        f"{gx_version}"
    )


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "status", "--porcelain", "--untracked-files=no"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def by_run(session: Session, figures: Callable[[RunResult], list[tuple[str, str]]]) -> str:
    """'backfill: stage a, stage b; incremental: ...' for a figure of each stage of each run."""
    return "; ".join(
        f"{r.name}: " + ", ".join(f"{label} {shown}" for label, shown in figures(r))
        for r in session.runs
    )


def report(session: Session, rss: dict[str, Any], started_at: dt.datetime) -> tuple[str, str]:
    """(the text and Markdown report, the final ratio line)."""
    backfill, incremental, nochange = session.runs
    floor = session.floor["typed"]
    months = session.scale.backfill_months
    month_mean = backfill.process_wall / months
    backfill_rows = session.backfill_rows
    files = len(session.backfill_files)
    size = sum(p.stat().st_size for p in session.backfill_files)
    gb = 1024**3
    ratio_backfill = backfill.process_wall / floor
    ratio_incremental = incremental.process_wall / month_mean
    share = validation_share(backfill)
    peak_tree = rss["tree_peak"]
    slowest = max(b[2] for b in session.bi)
    parsed_nochange = len(nochange.stages.get("parse", Calls()).seconds)
    validated_nochange = len(nochange.stages.get("validate", Calls()).seconds)
    md: list[str] = []
    md.append(
        f"### {started_at:%Y-%m-%d %H:%M} UTC, scale `{session.scale_name}`: "
        f"{months}+1 months x {session.scale.rows_per_month:,} rows/month"
    )
    md.append("")
    md.append(f"Machine: {machine()}. Code: {git_revision()}.")
    md.append("")
    md.append(
        f"Data: {backfill_rows:,} backfill rows in {files:,} files ({size / 1e6:,.0f} MB, "
        f"{session.months[0]} to {session.backfill_months[-1]}, both flows), then "
        f"{session.data_rows[session.months[-1]]:,} rows in "
        f"{len(session.data_files[session.months[-1]])} files for {session.months[-1]}."
        + (
            f" Generated in {session.generated_seconds:.1f} s "
            f"({sum(session.data_rows.values()) / session.generated_seconds:,.0f} rows/s)."
            if session.generated_seconds
            else " (Generated files reused.)"
        )
    )
    md.append("")
    md.append("| run / stage | calls | seconds | share | rows/s |")
    md.append("| --- | ---: | ---: | ---: | ---: |")
    md.append(
        f"| **floor**: DuckDB `read_csv` into a table (typed, thousands=',') | 1 | "
        f"{floor:.1f} | | {backfill_rows / floor:,.0f} |"
    )
    md.append(
        f"| floor, all columns as text | 1 | {session.floor['all_varchar']:.1f} | | "
        f"{backfill_rows / session.floor['all_varchar']:,.0f} |"
    )
    for run in session.runs:
        md.append(
            f"| **{run.name}**: {run.files_loaded} files loaded, {run.files_skipped} skipped, "
            f"{'published' if run.published else 'warehouse unchanged'} (flow "
            f"{run.wall:.1f} s) | 1 | {run.process_wall:.1f} | 100% | "
            f"{run.rows_loaded / run.process_wall:,.0f} |"
        )
        for label, count, seconds, frac, rate in stage_rows(run):
            if seconds < 0.005 and count == 0:
                continue
            md.append(f"| &nbsp;&nbsp;{label} | {count} | {seconds:.2f} | {frac:.0%} | {rate} |")
    md.append("")
    md.append("Inside the stages (backfill):")
    md.append("")
    md.append("| detail | calls | seconds | per-file fixed cost | marginal rows/s |")
    md.append("| --- | ---: | ---: | ---: | ---: |")
    for name in (*DETAILS, "parse", "validate", "load"):
        calls = backfill.stages.get(name)
        if not calls or not calls.seconds:
            continue
        fit = per_file_fit(calls)
        fixed = f"{fit[0] * 1e3:.0f} ms" if fit else ""
        marginal = f"{fit[1]:,.0f}" if fit else ""
        md.append(f"| {name} | {len(calls.seconds)} | {calls.total:.2f} | {fixed} | {marginal} |")
    dup = backfill.stages.get("load: duplicate-grain check")
    load = backfill.stages.get("load: one month and flow")
    if load and (g := growth(load)):
        extra = ""
        if dup and len(dup.seconds) >= 10:
            k = max(1, len(dup.seconds) // 10)
            extra = (
                f"; the duplicate-grain check alone {statistics.mean(dup.seconds[:k]) * 1e3:.0f} "
                f"ms -> {statistics.mean(dup.seconds[-k:]) * 1e3:.0f} ms per month and flow"
            )
        md.append("")
        md.append(
            f"Load cost per 10k rows, first tenth of the month-flow groups vs last tenth: "
            f"{g[0]:.2f} s -> "
            f"{g[1]:.2f} s (the warehouse grows during the backfill){extra}."
        )
    md.append("")
    md.append("Prefect task runs recorded by the server (count, summed run time):")
    md.append("")
    for run in session.runs:
        tasks = ", ".join(f"{k} {c} ({s:.1f} s)" for k, (c, s) in run.task_runs.items())
        n_tasks = sum(c for c, _ in run.task_runs.values())
        task_seconds = sum(s for _, s in run.task_runs.values())
        overhead = (run.wall - task_seconds) / n_tasks * 1e3 if n_tasks else 0.0
        md.append(
            f"- {run.name}: {tasks or 'none'}; flow time outside task run times: "
            f"{run.wall - task_seconds:.1f} s ({overhead:.0f} ms per task run)"
        )
    md.append("")
    md.append("Marts stage, model by model (re-run on a copy of the published warehouse):")
    md.append("")
    md.append("| model | seconds | rows |")
    md.append("| --- | ---: | ---: |")
    for name, seconds, rows in session.marts_breakdown:
        md.append(f"| {name} | {seconds:.2f} | {rows:,} |")
    md.append("")
    md.append(
        f"Dashboard queries on the published warehouse (ms; first run, then median and max "
        f"of {BI_RUNS - 1} more):"
    )
    md.append("")
    md.append("| query | first | median | max | rows |")
    md.append("| --- | ---: | ---: | ---: | ---: |")
    for name, first, median, worst, rows in session.bi:
        md.append(f"| {name} | {first:.1f} | {median:.1f} | {worst:.1f} | {rows} |")
    md.append("")
    md.append(
        "Peak RSS (sampled every 0.25 s from /proc; 'this process' is the benchmark, the tree "
        "adds the flow run's process and the Prefect server):"
    )
    md.append("")
    md.append("| phase | this process | process tree |")
    md.append("| --- | ---: | ---: |")
    for name, (own, tree) in rss["phases"].items():
        md.append(f"| {name} | {own / 2**20:,.0f} MB | {tree / 2**20:,.0f} MB |")
    md.append(
        "| getrusage peak of each flow run's process (exact) | "
        + ", ".join(f"{r.name} {r.maxrss / 2**20:,.0f} MB" for r in session.runs)
        + f" | benchmark process {rss['self_maxrss'] / 2**20:,.0f} MB |"
    )
    md.append("")
    md.append(
        f"Peak RSS of each flow run's process by stage (sampled every {RSS_SAMPLE_SECONDS:g} s): "
        + by_run(session, lambda r: [(n, f"{b / 2**20:,.0f} MB") for n, b in peak_rss_by_stage(r)])
    )
    md.append("")
    md.append(
        "Cores kept busy by each stage (CPU time of the flow run's process over wall time, "
        f"sampled every {RSS_SAMPLE_SECONDS:g} s; {os.cpu_count()} cores): "
        + by_run(session, lambda r: [(n, f"{c:.1f}") for n, c in cores_busy_by_stage(r)])
    )
    md.append("")
    for note in session.notes:
        md.append(f"- {note}")
    peak_job = max(r.maxrss for r in session.runs) / gb
    md.append("")
    md.extend(
        target_table(
            session,
            {
                "backfill_over_floor": ratio_backfill,
                "incremental_over_month": ratio_incremental,
                "peak_rss_gb": peak_job,
                "dashboard_ms": slowest,
            },
            nothing_done=parsed_nochange == validated_nochange == 0,
        )
    )
    ratio_line = (
        f"RATIOS [{session.scale_name}, {backfill_rows:,} rows, {months} months]: "
        f"backfill/floor = {ratio_backfill:.1f}x (target <= {TARGETS['backfill_over_floor']:g}x)"
        f" | incremental month / mean backfill month = {ratio_incremental:.2f}x "
        f"(<= {TARGETS['incremental_over_month']:g}x)"
        f" | validation share of backfill = {share:.0%}"
        f" | peak RSS = {max(r.maxrss for r in session.runs) / gb:.2f} GB job, "
        f"{peak_tree / gb:.2f} GB with the benchmark and the Prefect server "
        f"(<= {TARGETS['peak_rss_gb']:g} GB; backfill/incremental job peak "
        f"{backfill.maxrss / max(1, incremental.maxrss):.2f}x)"
        f" | no-change run: parsed {parsed_nochange}, validated {validated_nochange}"
        f" | slowest dashboard query {slowest:.0f} ms (< {TARGETS['dashboard_ms']:g} ms)"
        + (f" | {fixed_cost_line(session.fixed_cost)}" if session.fixed_cost else "")
    )
    md.append("")
    md.append(f"`{ratio_line}`")
    md.append("")
    return "\n".join(md), ratio_line


def append_docs(markdown: str) -> None:
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    if not DOCS.exists():
        DOCS.write_text(DOCS_INTRO + "\n", encoding="utf-8")
    with DOCS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + markdown)


def summarise_profile(path: Path, limit: int = 40) -> Path:
    """The top of the profile by cumulative and by own time, as text beside it."""
    import io

    text = io.StringIO()
    stats = pstats.Stats(str(path), stream=text)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    summary = path.with_suffix(".txt")
    summary.write_text(text.getvalue(), encoding="utf-8")
    return summary


# --- main -----------------------------------------------------------------------------------


def fan_out_seconds(run: RunResult) -> float:
    return sum(run.stages[n].total for n in FAN_OUT if n in run.stages)


FAN_OUT = ("fan-out: parse", "fan-out: validate")


def shapes_summary(sessions: list[Session]) -> tuple[list[str], str]:
    """Floor, dlt and the product side by side at each shape, and one line of it."""
    md = [
        "### Both shapes: the floor, dlt's raw load and the product",
        "",
        "| shape | rows, files, months | floor: DuckDB read_csv | dlt raw load "
        "| product backfill | product / floor | product / dlt | dlt / floor "
        "| peak RSS: product, dlt | incremental month / backfill month "
        "| no-change flow run (Prefect, a fresh process) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    parts = []
    for session in sessions:
        backfill, incremental, nochange = session.runs
        floor = session.floor["typed"]
        product = backfill.process_wall
        month = product / session.scale.backfill_months
        peer = session.peer.get("seconds")
        peer_cells = (
            (f"{peer:.1f} s", f"{product / peer:.2f}x", f"{peer / floor:.2f}x")
            if peer
            else ("not run", "", "")
        )
        peak = max(r.maxrss for r in session.runs) / 2**30
        peer_peak = f"{session.peer['maxrss'] / 2**30:.2f} GB" if peer else "-"
        md.append(
            f"| {session.scale_name} | {session.backfill_rows:,} rows, "
            f"{len(session.backfill_files):,} files, {session.scale.backfill_months} months "
            f"| {floor:.1f} s | {peer_cells[0]} | {product:.1f} s | {product / floor:.2f}x "
            f"| {peer_cells[1]} | {peer_cells[2]} | {peak:.2f} GB, {peer_peak} "
            f"| {incremental.process_wall / month:.2f}x | {nochange.process_wall:.1f} s |"
        )
        parts.append(
            f"{session.scale_name}: product/floor {product / floor:.1f}x"
            + (f", product/dlt {product / peer:.2f}x" if peer else "")
            + f", incremental/month {incremental.process_wall / month:.2f}x"
            + f", peak {peak:.2f} GB, no-change flow run {nochange.process_wall:.1f} s"
        )
    md.append("")
    return md, "SHAPES: " + " | ".join(parts)


def dask_summary(session: Session) -> tuple[list[str], str]:
    """1 against 2 workers: the speedup, the part that fans out, the part that stays serial,
    and what N workers would give by Amdahl's law from the 1-worker split."""
    if not session.dask_runs:
        return [], ""
    one = session.dask_runs[1]
    md = [
        f"### Dask: 1 against 2 workers (1 thread each), backfill of `{session.scale_name}`",
        "",
        "Same files, fresh warehouse each time; workers already running with the flow's "
        "modules imported. 'Fans out' is the flow's wait for parsing and validation on the "
        "workers; 'serial' is the rest of the process (start, Prefect, discovery, load, marts, "
        "publish).",
        "",
        "| workers | backfill | fans out (parse + validate) | serial | speedup |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for workers, run in sorted(session.dask_runs.items()):
        parallel = fan_out_seconds(run)
        md.append(
            f"| {workers} | {run.process_wall:.1f} s | {parallel:.1f} s "
            f"| {run.process_wall - parallel:.1f} s | {one.process_wall / run.process_wall:.2f}x |"
        )
    parallel = fan_out_seconds(one)
    serial = one.process_wall - parallel
    estimates = ", ".join(
        f"{n} workers {serial + parallel / n:.1f} s "
        f"({one.process_wall / (serial + parallel / n):.2f}x)"
        for n in (2, 4, 8, 16)
    )
    md += [
        "",
        f"Amdahl from the 1-worker split (serial {serial:.1f} s + {parallel:.1f} s that fans "
        f"out): {estimates}; at most {one.process_wall / serial:.2f}x however many workers.",
        "",
    ]
    two = session.dask_runs.get(2)
    line = (
        f"DASK [{session.scale_name}]: 1 worker {one.process_wall:.1f} s"
        + (
            f", 2 workers {two.process_wall:.1f} s ({one.process_wall / two.process_wall:.2f}x)"
            if two
            else ""
        )
        + f", serial part {serial:.1f} s of {one.process_wall:.1f} s"
    )
    return md, line


def run_shape(
    name: str, scale: Scale, root: Path, args: argparse.Namespace, *, primary: bool, dask: bool
) -> tuple[Session, dict[str, Any]]:
    """One shape: generate, floor, dlt, the three flow runs, the BI side (and with `dask`, the
    Dask runs). Returns the session and its peak memory by phase."""
    from prefect.testing.utilities import prefect_test_harness

    root.mkdir(parents=True, exist_ok=True)
    session = Session(name, scale, root, months_for(scale))
    SAMPLER.peaks.clear()
    reset_state(root)
    isolate(root)
    with phase("generate"):
        prepare_data(session, args.seed, args.regenerate)
    run_floor(session)
    if "peer" not in args.skip:
        run_peer(session)
    land(session, session.backfill_months)
    with phase("prefect server start"), contextlib.ExitStack() as stack:
        stack.enter_context(prefect_test_harness(server_startup_timeout=180))
        profile = root / "profile" / "backfill.pstats" if args.profile and primary else None
        session.runs.append(run_flow(session, "backfill", profile))
        land(session, session.months[-1:])
        session.runs.append(run_flow(session, "incremental"))
        session.runs.append(run_flow(session, "no-change"))
        published = root / "warehouse" / "customs.duckdb"
        with phase("fixed cost"):
            session.fixed_cost = measure_fixed_cost(
                ["--landing", str(root / "landing"), "--warehouse", str(published)]
            )
        run_bi(session)
        probe_marts(session)
        if dask:
            run_dask(session)
        SAMPLER.phase = "prefect server stop"
    with phase("probe"):
        measure_cold_starts(session)
    own_tree = SAMPLER.peak("backfill", "incremental", "no-change", "bi")
    rss = {
        "phases": {
            k: v
            for k, v in SAMPLER.peaks.items()
            if k not in ("setup", "prefect server start", "prefect server stop")
        },
        "tree_peak": own_tree[1],
        "self_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    return session, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument("--months", type=int, help="backfill months (overrides the scale)")
    parser.add_argument("--rows-per-month", type=int, help="both flows (overrides the scale)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--root", type=Path, help="default: .customs/bench/<scale>")
    parser.add_argument("--regenerate", action="store_true", help="do not reuse generated files")
    parser.add_argument("--profile", action="store_true", help="cProfile the backfill run")
    parser.add_argument("--no-docs", action="store_true", help="do not append to the docs")
    parser.add_argument(
        "--fixed-cost-only",
        action="store_true",
        help=f"only the fixed cost of a run: `customs-etl run` {FIXED_COST_RUNS} times on the "
        "warehouse `make run` built (nothing new; or --landing/--warehouse), median and min "
        f"against the {TARGETS['fixed_cost_s']:g} s target; nothing is appended to the docs",
    )
    parser.add_argument("--landing", type=Path, help="with --fixed-cost-only")
    parser.add_argument("--warehouse", type=Path, help="with --fixed-cost-only")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=("peer", "second-shape", "dask"),
        help="leave out dlt's load, the second shape or the Dask runs",
    )
    # internal: the floor and the flow runs, each in a process of its own
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run-flow", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor_main(args.floor)
        return 0
    if args.run_flow:
        flow_child(args.run_flow, args.root, args.result, args.profile_to)
        return 0
    if args.fixed_cost_only:
        arguments = [] if args.landing is None else ["--landing", str(args.landing)]
        arguments += [] if args.warehouse is None else ["--warehouse", str(args.warehouse)]
        print(fixed_cost_line(measure_fixed_cost(arguments)))
        return 0
    scale = SCALES[args.scale]
    scale = Scale(args.months or scale.backfill_months, args.rows_per_month or scale.rows_per_month)
    name = args.scale if (args.months, args.rows_per_month) == (None, None) else "custom"
    root = (args.root or PROJECT_DIR / ".customs" / "bench" / name).resolve()
    # Dask on the last shape: the second one (many files over many months) unless skipped.
    shapes = [(name, scale, root, True)]
    if "second-shape" not in args.skip:
        second = SECOND_SHAPES[args.scale]
        label = f"{name}-second"
        shapes.append((label, second, root.with_name(f"{root.name}-second"), False))
    SAMPLER.start()
    blocks, ratio_lines, sessions = [], [], []
    for shape_name, shape, shape_root, primary in shapes:
        started_at = dt.datetime.now(dt.UTC)
        dask = "dask" not in args.skip and shape_root == shapes[-1][2]
        session, rss = run_shape(shape_name, shape, shape_root, args, primary=primary, dask=dask)
        markdown, ratio_line = report(session, rss, started_at)
        blocks.append(markdown)
        ratio_lines.append(ratio_line)
        sessions.append(session)
    SAMPLER.stop()
    summary, shapes_line = shapes_summary(sessions)
    dask_md, dask_line = dask_summary(sessions[-1])
    markdown = "\n".join(blocks) + "\n" + "\n".join(summary + dask_md)
    print()
    print(markdown)
    if args.profile:
        profile = summarise_profile(root / "profile" / "backfill.pstats")
        print(f"cProfile of the backfill: {profile}")
    if not args.no_docs:
        append_docs(markdown)
        print(f"Appended to {DOCS.relative_to(PROJECT_DIR)}")
    for line in [*ratio_lines, shapes_line, dask_line]:
        if line:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
