"""Flat in history: the cost of adding one month on top of a short and a long history.

    .venv/bin/python bench/flat_history.py [--history 12 118] [--backend embedded lake]
        [--rows-per-month 10000] [--root DIR]

For each backend and each history length N: a warehouse is backfilled with N months of
generated national-shape exports (scripts/generate_national.py, CONSTRUCTED data), then the
job adds the month after them (the same files whatever N), timed in this process with the
plain job (customs_etl.job.run_job, as `customs-etl run` calls it). The lake is DuckLake on a
SQLite catalog with local Parquet (the same code as PostgreSQL + S3, without the network).
Prints each time and, per backend, the ratio of the longest history's time to the shortest's:
flat in history means a ratio near 1 (the issue's target: at most 1.25).

`--repeat N` backfills each history once, keeps a copy of its warehouse (and lake), and adds
the month N times, each on a fresh copy of the backfilled state, the histories interleaved so
that the machine's noise falls on all alike; it prints the min and median per history and the
ratios of the medians and of the mins. Each timing also says how long three phases took:
`start` (the embedded backend's copy of the published file; opening the lake's transaction),
`models` (rebuilding the models) and `publish`. `--models K` prints the K slowest models of
each history's last repeat (from the runner's debug log).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

from generate_national import months_from  # noqa: E402

from customs_etl import backend as backends  # noqa: E402
from customs_etl.job import run_job  # noqa: E402
from customs_etl.load import models as runner  # noqa: E402
from customs_etl.settings import Settings, get_settings  # noqa: E402


def generate(out: Path, months: list[str], rows_per_month: int) -> None:
    """The months' exports under out/<flow>/<YYYY-MM>/ (reused when already there)."""
    missing = [m for m in months if not (out / "export" / m).is_dir()]
    if not missing:
        return
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "scripts" / "generate_national.py"),
            "--out",
            str(out),
            "--months",
            str(len(months)),
            "--start",
            months[0],
            "--rows-per-month",
            str(rows_per_month),
        ],
        check=True,
    )


def landing_of(source: Path, months: list[str], target: Path) -> Path:
    """A landing folder holding only these months (hard links: no copying)."""
    shutil.rmtree(target, ignore_errors=True)
    for flow in ("export", "import"):
        for month in months:
            shutil.copytree(source / flow / month, target / flow / month, copy_function=_link)
    return target


def _link(src: str, dst: str) -> None:
    Path(dst).hardlink_to(src)


def settings_for(backend: str, root: Path, landing: Path) -> Settings:
    shutil.rmtree(root / "warehouse", ignore_errors=True)
    shutil.rmtree(root / "lake", ignore_errors=True)
    overrides: dict[str, object] = {
        "landing_dir": landing,
        "warehouse_path": root / "warehouse" / "customs.duckdb",
        "work_dir": root / "work",
        "landing_zone_dir": root / "landing_zone",
    }
    if backend == "lake":
        (root / "lake").mkdir(parents=True)
        overrides |= {
            "lake_catalog": f"sqlite:{root / 'lake' / 'catalog.sqlite'}",
            "lake_data_path": str(root / "lake" / "data"),
        }
    return get_settings(**overrides)


STATE = ("warehouse", "lake", "work", "landing_zone")  # what a run reads and writes


class Timed:
    """Seconds spent in the job's phases and in each model, during one `with` block."""

    PHASES: ClassVar[dict[str, str]] = {
        "start": "start_build",
        "models": "build_models",
        "publish": "publish",
    }

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.models: dict[str, float] = {}
        self.build_log: list[str] = []

    @contextlib.contextmanager
    def around(self):
        originals = {}
        for phase, name in self.PHASES.items():
            owner = runner if phase == "models" else backends
            originals[(owner, name)] = getattr(owner, name)
            setattr(owner, name, self._timer(phase, getattr(owner, name)))
        handler = _ModelTimes(self.models)
        logger = logging.getLogger(runner.__name__)
        level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        # How the embedded build was made ready (the spare version caught up, or a copy), how
        # long that took in the background, and how long the run waited for it.
        build_handler = _Messages(self.build_log)
        build_loggers = [
            logging.getLogger(name)
            for name in ("customs_etl.publish.build", "customs_etl.load.connection")
        ]
        build_levels = [one.level for one in build_loggers]
        for one in build_loggers:
            one.setLevel(logging.DEBUG)
            one.addHandler(build_handler)
        try:
            yield self
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            for one, old_level in zip(build_loggers, build_levels, strict=True):
                one.removeHandler(build_handler)
                one.setLevel(old_level)
            for (owner, name), original in originals.items():
                setattr(owner, name, original)

    def _timer(self, phase, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - started

        return timed

    def text(self) -> str:
        times = ", ".join(f"{phase} {self.phases.get(phase, 0.0):.2f}" for phase in self.PHASES)
        return f"{times}; build: {self.how_built()}"

    def how_built(self) -> str:
        if not self.build_log:  # the lake: a run is one DuckLake transaction, nothing copied
            return "one lake transaction"
        if any("caught up" in line for line in self.build_log):
            how = "spare caught up"
        else:
            how = "copy" if any("Copying" in line for line in self.build_log) else "copy (no spare)"
        return f"{how}, ready after {self.seconds('ready after')}, waited {self.seconds('Waited')}"

    def seconds(self, prefix: str) -> str:
        """The seconds a build log line starting with (or containing) `prefix` gave."""
        for line in self.build_log:
            if prefix in line:
                return next(word for word in line.split() if word[0].isdigit()) + " s"
        return "-"


class _Messages(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        self._into.append(record.getMessage())


class _ModelTimes(logging.Handler):
    def __init__(self, into: dict[str, float]) -> None:
        super().__init__(logging.DEBUG)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        model = getattr(record, "model", None)
        if model is not None:
            self._into[model] = self._into.get(model, 0.0) + record.seconds  # type: ignore[attr-defined]


def backfill(
    backend: str, history: int, data: Path, months: list[str], root: Path, runs_before: int
) -> Settings:
    """Backfill `history` months (the last `runs_before` of them one run each, as a monthly
    schedule would: the embedded backend's spare version then lags as it does there); keep a
    copy of the state; the settings to add the month."""
    base = root / f"{backend}-{history}"
    past_months = months[-1 - history : -1]
    past = landing_of(data, past_months, base / "landing-history")
    new = landing_of(data, months[-1:], base / "landing-new")
    settings = settings_for(backend, base, past)
    split = max(len(past_months) - runs_before, 1)
    started = time.perf_counter()
    run_job(settings, period_to=past_months[split - 1])
    for month in past_months[split:]:
        run_job(settings, period_from=month, period_to=month)
    print(
        f"BACKFILL {backend:8} {history:4} months: {time.perf_counter() - started:7.1f} s "
        f"({len(past_months) - split} of them a run each)",
        flush=True,
    )
    shutil.rmtree(base / "snapshot", ignore_errors=True)
    for part in STATE:
        if (base / part).exists():
            shutil.copytree(base / part, base / "snapshot" / part, symlinks=True)
    return settings.model_copy(update={"landing_dir": new})


def add_month(backend: str, history: int, settings: Settings, root: Path) -> tuple[float, Timed]:
    """Restore the backfilled state, then time adding the next month."""
    base = root / f"{backend}-{history}"
    for part in STATE:
        shutil.rmtree(base / part, ignore_errors=True)
        if (base / "snapshot" / part).exists():
            shutil.copytree(base / "snapshot" / part, base / part, symlinks=True)
    timed = Timed()
    with timed.around():
        started = time.perf_counter()
        summary = run_job(settings)
        added = time.perf_counter() - started
    assert summary.published and summary.loaded, summary.text()
    print(
        f"HISTORY {backend:8} {history:4} months: one more month {added:6.2f} s "
        f"({summary.rows_loaded:,} rows; {timed.text()})",
        flush=True,
    )
    return added, timed


def measure(backend: str, history: int, data: Path, months: list[str], root: Path) -> float:
    """Backfill `history` months, then time adding the next month."""
    settings = backfill(backend, history, data, months, root, runs_before=0)
    return add_month(backend, history, settings, root)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=[12, 118])
    parser.add_argument("--backend", nargs="+", choices=("embedded", "lake"), default=["lake"])
    parser.add_argument("--rows-per-month", type=int, default=10_000, help="per flow")
    parser.add_argument("--root", type=Path, default=PROJECT_DIR / ".customs" / "bench-history")
    parser.add_argument("--repeat", type=int, default=1, help="times the month is added")
    parser.add_argument("--models", type=int, default=0, help="print the K slowest models")
    parser.add_argument(
        "--runs-before",
        type=int,
        default=6,
        help="the history's last months loaded a run each (default 6: the embedded spare "
        "version, the version published before, lags one run as a monthly schedule leaves "
        "it, and the tables' last row groups are as a monthly schedule leaves them: the "
        "first checkpoints after a backfill merge the backfill's partial row groups, 0.4-1 s "
        "once)",
    )
    args = parser.parse_args(argv)
    longest = max(args.history)
    months = months_from("2016-01", longest + 1)
    data = args.root / "generated"
    generate(data, months, args.rows_per_month)
    for backend in args.backend:
        # The first run of a process pays for imports and installing the extensions: not timed.
        measure(backend, 1, data, months, args.root / "warm-up")
        histories = sorted(args.history)
        settings = {
            n: backfill(backend, n, data, months, args.root, args.runs_before) for n in histories
        }
        times: dict[int, list[float]] = {n: [] for n in histories}
        phases: dict[int, list[Timed]] = {n: [] for n in histories}
        for _ in range(args.repeat):
            for n in histories:
                seconds, timed = add_month(backend, n, settings[n], args.root)
                times[n].append(seconds)
                phases[n].append(timed)
        shortest = min(histories)
        for n in histories:
            starts = [t.phases.get("start", 0.0) for t in phases[n]]
            print(
                f"SUMMARY {backend:8} {n:4} months: min {min(times[n]):.2f} s, median "
                f"{statistics.median(times[n]):.2f} s over {len(times[n])}; start phase median "
                f"{statistics.median(starts):.2f} s "
                f"({statistics.median(starts) / statistics.median(times[n]):.0%} of the median)",
                flush=True,
            )
            if args.models:
                slowest = sorted(phases[n][-1].models.items(), key=lambda kv: -kv[1])
                for model, seconds in slowest[: args.models]:
                    print(f"  MODEL {backend:8} {n:4} {model:48} {seconds:6.2f} s", flush=True)
        med = {n: statistics.median(times[n]) for n in histories}
        low = {n: min(times[n]) for n in histories}
        print(
            f"RATIO {backend}: a month on {longest} months of history / on {shortest}: "
            f"median {med[longest] / med[shortest]:.2f}x "
            f"({med[longest]:.2f} s / {med[shortest]:.2f} s), "
            f"min {low[longest] / low[shortest]:.2f}x "
            f"({low[longest]:.2f} s / {low[shortest]:.2f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
