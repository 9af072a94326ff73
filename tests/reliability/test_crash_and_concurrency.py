"""Faults caused for real: the job killed with SIGKILL at random moments, and two runs at once.

Each trial runs `customs-etl run` in a subprocess, kills it after a random delay (seeded) or
at a chosen step of the build, then checks that the published warehouse answers exactly as
before (or exactly as after, when the kill came after publication), that the landing zone lost
nothing, and that the next run ends equal to a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from support import export_file, run_job

from customs_etl.publish import build as publication

TRIALS = 8
SEED = 20251129
MARTS = ("trade_monthly", "trade_half_year", "trade_by_commodity_monthly", "trade_yearly")


def make_landing(root: Path, months: range) -> Path:
    for month in months:
        for flow, code in (("export", "39269090"), ("import", "67041100")):
            for partner in ("109", "133"):
                export_file(
                    root / flow / f"2024-{month:02d}",
                    f"p{partner}.csv",
                    f"2024{month:02d}",
                    [(partner, code, 1000 * month + int(partner)), (partner, "1006" + "0000", 7)],
                )
    return root


def snapshot(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            row
            for mart in MARTS
            for row in con.execute(f"from marts.{mart} order by all").fetchall()
        ]
    finally:
        con.close()


def landing_digest(landing: Path) -> dict[str, str]:
    return {
        p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


def job(landing: Path, published: Path, work: Path, log: Path) -> subprocess.Popen:
    env = os.environ | {"CUSTOMS_WORK_DIR": str(work), "COLUMNS": "200"}
    command = [sys.executable, "-m", "customs_etl.cli", "run", "--landing", str(landing)]
    command += ["--warehouse", str(published)]
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def phase(log: Path) -> str:
    steps = re.findall(r"Step: ([a-z -]+?)\s*$", log.read_text(errors="replace"), re.MULTILINE)
    return steps[-1] if steps else "start-up"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("crash")
    before = root / "before.duckdb"
    run_job(str(make_landing(root / "half", range(1, 4))), str(before))
    full_landing = make_landing(root / "full", range(1, 7))
    reference = root / "reference" / "customs.duckdb"
    reference.parent.mkdir()
    shutil.copy2(before, reference)
    # An uninterrupted run, timed the way the trials see it: from the job's start to the end.
    log = root / "reference.log"
    process = job(full_landing, reference, root / "reference-work", log)
    wait_for_flow_start(log, process)
    started = time.monotonic()
    assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    return {
        "root": root,
        "before": before,
        "landing": full_landing,
        "expected_before": snapshot(before),
        "expected_after": snapshot(reference),
        "run_seconds": time.monotonic() - started,
    }


def wait_for_flow_start(log: Path, process: subprocess.Popen, limit: float = 120.0) -> None:
    """Start-up (imports) is not the interesting part: kill within the run itself."""
    wait_for_step(log, process, "discover", limit)


def wait_for_step(log: Path, process: subprocess.Popen, step: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while phase(log) != step:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"the job never reached step {step}"
        time.sleep(0.01)


def test_sigkill_at_random_moments_loses_nothing(
    scenario: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    outcomes = []
    digest = landing_digest(scenario["landing"])
    for trial in range(TRIALS):
        folder = scenario["root"] / f"trial-{trial}"
        folder.mkdir()
        published = folder / "warehouse" / "customs.duckdb"
        published.parent.mkdir()
        shutil.copy2(scenario["before"], published)
        delay = rng.uniform(0.0, 1.2 * scenario["run_seconds"])
        process = job(scenario["landing"], published, folder / "work", folder / "killed.log")
        wait_for_flow_start(folder / "killed.log", process)
        time.sleep(delay)
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = snapshot(published)
        assert state in (scenario["expected_before"], scenario["expected_after"]), trial
        assert landing_digest(scenario["landing"]) == digest
        # The next run (in this process: same code, no second start-up) completes the work.
        monkeypatch.setenv("CUSTOMS_WORK_DIR", str(folder / "work"))
        run_job(str(scenario["landing"]), str(published))
        assert snapshot(published) == scenario["expected_after"], trial
        published_when = "after" if state == scenario["expected_after"] else "before"
        outcomes.append(
            f"trial {trial}: killed {delay:.2f}s into the run, in {phase(folder / 'killed.log')}"
            f"{' (already finished)' if finished else ''}; published answered as {published_when};"
            " rerun completed equal to an uninterrupted run"
        )
    with capsys.disabled():  # shown in CI's output, not only on failure
        print(f"\n{TRIALS} crash trials (seed {SEED}):\n" + "\n".join(outcomes))


@pytest.mark.parametrize("step", ["load", "marts"])
def test_sigkill_in_the_middle_of_the_build_loses_nothing(
    scenario: dict, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while the private build is being written (the step's log line seen and the
    build file there at the moment of the kill): the published file answers as before, no
    build is left to be mistaken for the warehouse, and the next run ends as if never killed."""
    folder = scenario["root"] / f"mid-{step}"
    published = folder / "warehouse" / "customs.duckdb"
    published.parent.mkdir(parents=True)
    shutil.copy2(scenario["before"], published)
    log = folder / "killed.log"
    process = job(scenario["landing"], published, folder / "work", log)
    wait_for_step(log, process, step)
    building = publication.build_path_for(published).exists()
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert building, f"no build in progress at step {step}"
    assert snapshot(published) == scenario["expected_before"]
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(folder / "work"))
    run_job(str(scenario["landing"]), str(published))
    assert snapshot(published) == scenario["expected_after"]
    assert not publication.build_path_for(published).exists()


def test_two_runs_at_once_one_works_the_other_says_so(scenario: dict) -> None:
    folder = scenario["root"] / "twice"
    published = folder / "warehouse" / "customs.duckdb"
    published.parent.mkdir(parents=True)
    shutil.copy2(scenario["before"], published)
    logs = [folder / "first.log", folder / "second.log"]
    runs = [job(scenario["landing"], published, folder / f"work{i}", logs[i]) for i in range(2)]
    codes = sorted(run.wait(timeout=300) for run in runs)
    texts = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 1], texts
    assert sum("another run is in progress" in text for text in texts) == 1
    assert snapshot(published) == scenario["expected_after"]
    con = duckdb.connect(str(published), read_only=True)
    doubled = con.execute(
        "select count(*) from (select release_id, source_row from core.trade_detailed "
        "group by all having count(*) > 1)"
    ).fetchone()
    con.close()
    assert doubled == (0,)
