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
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

from generate_national import months_from  # noqa: E402

from customs_etl.job import run_job  # noqa: E402
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


def measure(backend: str, history: int, data: Path, months: list[str], root: Path) -> float:
    """Backfill `history` months, then time adding the next month."""
    base = root / f"{backend}-{history}"
    past = landing_of(data, months[-1 - history : -1], base / "landing-history")
    new = landing_of(data, months[-1:], base / "landing-new")
    settings = settings_for(backend, base, past)
    started = time.perf_counter()
    run_job(settings)
    backfill = time.perf_counter() - started
    settings = settings.model_copy(update={"landing_dir": new})
    started = time.perf_counter()
    summary = run_job(settings)
    added = time.perf_counter() - started
    assert summary.published and summary.loaded, summary.text()
    print(
        f"HISTORY {backend:8} {history:4} months: backfill {backfill:7.1f} s, "
        f"one more month {added:6.2f} s ({summary.rows_loaded:,} rows)",
        flush=True,
    )
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=[12, 118])
    parser.add_argument("--backend", nargs="+", choices=("embedded", "lake"), default=["lake"])
    parser.add_argument("--rows-per-month", type=int, default=10_000, help="per flow")
    parser.add_argument("--root", type=Path, default=PROJECT_DIR / ".customs" / "bench-history")
    args = parser.parse_args(argv)
    longest = max(args.history)
    months = months_from("2016-01", longest + 1)
    data = args.root / "generated"
    generate(data, months, args.rows_per_month)
    for backend in args.backend:
        # The first run of a process pays for imports and installing the extensions: not timed.
        measure(backend, 1, data, months, args.root / "warm-up")
        times = {n: measure(backend, n, data, months, args.root) for n in sorted(args.history)}
        shortest = min(times)
        print(
            f"RATIO {backend}: a month on {longest} months of history / on {shortest}: "
            f"{times[longest] / times[shortest]:.2f}x "
            f"({times[longest]:.2f} s / {times[shortest]:.2f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
