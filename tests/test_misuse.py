"""A corpus of misuses of the command line, each run as a real `customs-etl` process against a
real published warehouse (a link to a version file, with a kept earlier version and the
spare).

For every case: the exit code, exactly one line on stderr with the words expected, no
traceback anywhere, and the published warehouse byte for byte as before (the link, the file it
points at, and the spare)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import export_file, load

from customs_etl.publish import build as publication
from customs_etl.publish import versions

CLI = Path(sys.executable).with_name("customs-etl")


@dataclass(frozen=True)
class Case:
    name: str
    arguments: list[str]
    exit_code: int
    words: tuple[str, ...]  # expected in the one stderr line (or stdout, when exit_code is 0)
    stdin: str | None = None
    nothing_written: tuple[str, ...] = field(default_factory=tuple)  # paths that must not appear
    settings: tuple[tuple[str, str], ...] = ()  # environment variables of this case
    logs: bool = False  # a job's run: its log lines come first, the one-line error last


@dataclass(frozen=True)
class Warehouse:
    root: Path
    published: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Two publications of a small warehouse (so one version is kept), a landing zone and a
    quarantine folder, as the job leaves them."""
    root = tmp_path_factory.mktemp("misuse")
    landing = root / "landing"
    published = root / "warehouse" / "customs.duckdb"
    files = [
        export_file(landing / "export/2024-02", "a.csv", "202402", [("109", "67030000", 800)]),
        export_file(landing / "import/2024-02", "a.csv", "202402", [("109", "67041100", 200)]),
    ]
    for value in (1_000, 1_100):
        files.append(
            export_file(landing / "export/2025-02", "a.csv", "202502", [("109", "6703", value)])
        )
        build = publication.start_build(published)
        load(build, landing, files, root / "staging")
        publication.publish(build, published)
    (published.parent / "landing_zone").mkdir()
    (published.parent / "quarantine").mkdir()
    env = {
        **os.environ,
        "CUSTOMS_WAREHOUSE_PATH": str(published),
        "CUSTOMS_LANDING_DIR": str(landing),
        "CUSTOMS_WORK_DIR": str(root / "work"),
        "HOME": str(root / "home"),
        "COLUMNS": "200",
    }
    (root / "home").mkdir()
    (root / "a-file.txt").write_text("not a folder, not a database\n")
    (root / "a-folder").mkdir()
    return Warehouse(root, published, env)


def fingerprint(published: Path) -> dict[str, str]:
    """The published link, and the bytes of every file it or rollback could publish."""
    state = {"link": os.readlink(published)}
    for version in sorted(publication.versions_dir(published).iterdir()):
        state[version.name] = hashlib.sha256(version.read_bytes()).hexdigest()
    return state


def cases(w: Warehouse) -> list[Case]:
    root, published = w.root, w.published
    [kept_name] = versions.names(published)
    kept = publication.versions_dir(published) / kept_name  # a version's name as a path
    spare = publication.spare_path(published)  # the file the next run builds in
    current = publication.current_version(published)
    assert current is not None
    return [
        Case("sql empty", ["sql", ""], 1, ("no SQL given", "expected a query")),
        Case("sql only a semicolon", ["sql", ";"], 1, ("no SQL given",)),
        Case("sql comment only", ["sql", "--", "-- nothing"], 1, ("no SQL given",)),
        Case("sql markup-like text", ["sql", "select [/x] from y"], 1, ("Parser Error",)),
        Case("sql write", ["sql", "drop table marts.trade_monthly"], 1, ("read-only",)),
        Case("sql attach", ["sql", f"attach '{root / 'x.duckdb'}' as x"], 1, ("Error",)),
        Case("sql install", ["sql", "install httpfs"], 1, ("Error",)),
        Case(
            "sql after a semicolon",
            ["sql", "select 1; drop table marts.trade_monthly"],
            1,
            ("read-only",),
        ),
        Case("sql unknown table", ["sql", "select * from marts.nope"], 1, ("Catalog Error",)),
        Case(
            "sql over its time limit",
            ["sql", "select count(*) from range(1000000000000)", "--timeout", "0.5"],
            1,
            ("longer than 0.5 s", "--timeout"),
        ),
        Case("sql unknown format", ["sql", "select 1", "--format", "xml"], 2, ("--format",)),
        Case("sql no query", ["sql"], 2, ("Missing argument",)),
        Case("unknown command", ["nosuch"], 2, ("No such command",)),
        Case(
            "sql on a folder",
            ["sql", "select 1", "--warehouse", str(root / "a-folder")],
            1,
            ("is a folder", "expected the DuckDB file"),
        ),
        Case(
            "sql on a text file",
            ["sql", "select 1", "--warehouse", str(root / "a-file.txt")],
            1,
            ("is not a DuckDB database",),
        ),
        Case(
            "status on a folder",
            ["status", "--warehouse", str(root / "a-folder")],
            1,
            ("is a folder",),
        ),
        Case(
            "no warehouse yet",
            ["sql", "select 1", "--warehouse", str(root / "none" / "customs.duckdb")],
            3,
            ("no warehouse at", "customs-etl run"),
        ),
        Case(
            "export onto a file",
            ["export", str(root / "a-file.txt")],
            1,
            ("is a file, not a folder",),
        ),
        Case(
            "export into the versions",
            ["export", str(publication.versions_dir(published))],
            1,
            ("refusing to write into", "kept warehouse versions"),
        ),
        Case(
            "export into the landing zone",
            ["export", str(published.parent / "landing_zone" / "out")],
            1,
            ("refusing", "landing zone"),
        ),
        Case(
            "report out onto a file",
            ["report", "--out", str(root / "a-file.txt")],
            1,
            ("is a file, not a folder",),
        ),
        Case("report bad period", ["report", "--period", "2025H3"], 1, ("expected a half-year",)),
        Case(
            "report period with no data",
            ["report", "--period", "2031H1", "--out", str(root / "r1")],
            1,
            ("2031H1 has no trade", "from 2024H1 to 2025H1"),
            nothing_written=("r1",),
        ),
        Case(
            "report partner without trade",
            ["report", "--partner", "XXX", "--out", str(root / "r4")],
            1,
            ("partner XXX (Country (region) unknown) has no trade",),
            nothing_written=("r4",),
        ),
        Case(
            "report unknown partner",
            ["report", "--partner", "QQQ", "--out", str(root / "r2")],
            1,
            ("partner 'QQQ' is not in marts.partners",),
            nothing_written=("r2",),
        ),
        Case(
            "report partner as a path",
            ["report", "--partner", "x/../../elsewhere/name", "--out", str(root / "r3" / "a")],
            1,
            ("is not in marts.partners",),
            nothing_written=("r3", "elsewhere"),
        ),
        Case(
            "rollback to a path",
            ["rollback", "--to", str(kept)],
            1,
            ("is not a kept version", "rollback --list"),
        ),
        Case(
            "rollback to the parent",
            ["rollback", "--to", "../customs.duckdb"],
            1,
            ("is not a kept version",),
        ),
        Case(
            "rollback a missing warehouse",
            ["rollback", "--list", "--warehouse", str(root / "nowhere" / "customs.duckdb")],
            3,
            ("no warehouse at", "run `customs-etl run` first"),
        ),
        Case(
            "rollback a folder",
            ["rollback", "--warehouse", str(root)],
            1,
            ("is a folder", "expected the DuckDB file"),
        ),
        Case(
            "as-of over the published link",
            ["as-of", "2025-01-01", "--out", str(published)],
            1,
            ("refusing to write", "published warehouse"),
        ),
        Case(
            "as-of over the published file",
            ["as-of", "2025-01-01", "--out", str(current)],
            1,
            ("refusing to write",),
        ),
        Case(
            "as-of over the spare version",
            ["as-of", "2025-01-01", "--out", str(spare)],
            1,
            ("refusing to write", "kept warehouse versions"),
        ),
        Case(
            "as-of into the landing zone",
            ["as-of", "2025-01-01", "--out", str(published.parent / "landing_zone" / "a.duckdb")],
            1,
            ("landing zone",),
        ),
        Case(
            "as-of onto a device",
            ["as-of", "2025-01-01", "--out", "/dev/null"],
            1,
            ("not a plain file",),
        ),
        Case(
            "as-of onto a folder",
            ["as-of", "2025-01-01", "--out", str(root / "a-folder")],
            1,
            ("is a folder", "expected a file name"),
        ),
        Case(
            "as-of onto an existing file",
            ["as-of", "2025-01-01", "--out", str(root / "a-file.txt")],
            1,
            ("already exists",),
        ),
        Case(
            "as-of where nothing can be written",
            ["as-of", "2025-01-01", "--out", "/proc/customs-as-of.duckdb"],
            1,
            ("cannot use", "/proc/"),
            nothing_written=(),
        ),
        Case("as-of bad date", ["as-of", "2025-13-01"], 1, ("expected a day as YYYY-MM-DD",)),
        Case(
            "ingest a missing file",
            ["ingest", str(root / "nope.csv"), "--flow", "export"],
            1,
            ("no such file",),
        ),
        Case("ingest without a flow", ["ingest", str(root / "a-file.txt")], 2, ("--flow",)),
        Case(
            "ingest with the landing zone a file",
            ["ingest", str(root / "landing" / "export/2024-02/a.csv"), "--flow", "export"],
            1,
            ("cannot use", "a-file.txt", "expected a path this user can read and write"),
            settings=(("CUSTOMS_LANDING_ZONE_DIR", str(root / "a-file.txt")),),
            logs=True,
        ),
        # What used to end in a traceback now works, and says so on stdout.
        Case(
            "a setting that does not parse",
            ["sql", "select 1"],
            1,
            ("setting CUSTOMS_SQL_TIMEOUT_SECONDS='soon'", "valid number"),
            settings=(("CUSTOMS_SQL_TIMEOUT_SECONDS", "soon"),),
        ),
        Case("sql an interval", ["sql", "select interval 1 day as i"], 0, ("1 day",)),
        Case("sql csv keeps brackets", ["sql", "--format", "csv", "select '[/x]' as s"], 0, ()),
        Case(
            "shell goes on after errors",
            ["shell"],
            0,
            ("1 day", "Read-only SQL"),
            stdin="select interval 1 day as i;\nselect [/x] from y;\n;\nselect 42 as answer;\n",
        ),
    ]


def run_cli(w: Warehouse, case: Case) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *case.arguments],
        input=case.stdin or "",
        capture_output=True,
        text=True,
        env=w.env | dict(case.settings),
        cwd=w.root,
        timeout=120,
    )


@pytest.fixture(scope="module")
def outcomes(built: Warehouse) -> dict[str, tuple[Case, subprocess.CompletedProcess[str]]]:
    """Every case run once, two at a time (two cores); the warehouse fingerprinted around."""
    before = fingerprint(built.published)
    corpus = cases(built)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda case: run_cli(built, case), corpus))
    assert fingerprint(built.published) == before
    return {case.name: (case, result) for case, result in zip(corpus, results, strict=True)}


def test_every_misuse_is_one_line_and_changes_nothing(
    built: Warehouse, outcomes: dict[str, tuple[Case, subprocess.CompletedProcess[str]]]
) -> None:
    """Catches a traceback, a message spread over lines or printed as markup, a wrong exit
    code, or a command that writes over the published warehouse, a version or a path it was
    refused."""
    problems = []
    for name, (case, result) in outcomes.items():
        shown = f"{name}: exit {result.returncode}, stderr {result.stderr!r}"
        stderr_lines = result.stderr.splitlines()
        if result.returncode != case.exit_code:
            problems.append(f"{shown} (expected exit {case.exit_code})")
        elif "Traceback" in result.stderr + result.stdout:
            problems.append(f"{shown} (a traceback)")
        elif case.exit_code != 0 and len(stderr_lines) != 1 and not case.logs:
            problems.append(f"{shown} (expected exactly one line)")
        elif case.logs and not all(word in stderr_lines[-1] for word in case.words):
            problems.append(f"{shown} (expected {case.words} on the last line)")
        elif not all(word in (result.stderr + result.stdout) for word in case.words):
            problems.append(f"{shown} (expected {case.words})")
        for written in case.nothing_written:
            if (built.root / written).exists():
                problems.append(f"{name}: wrote {written}")
    assert "\n".join(problems) == ""


def test_the_answers_that_used_to_be_tracebacks(
    outcomes: dict[str, tuple[Case, subprocess.CompletedProcess[str]]],
) -> None:
    """Catches CSV output read as Rich markup, and a shell that ends on its first error."""
    assert outcomes["sql csv keeps brackets"][1].stdout == "s\n[/x]\n"
    shell = outcomes["shell goes on after errors"][1]
    assert "42" in shell.stdout  # the statement after the errors still ran
    assert [line for line in shell.stderr.splitlines() if line] == [
        'ParserException: Parser Error: syntax error at or near "/"',
        "no SQL given; expected a query such as 'select * from marts.partners'",
    ]


def test_version_and_status_json(built: Warehouse) -> None:
    """Catches a version string that is not the package's, and status output a machine
    cannot parse or that hides which version is published."""
    version = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == importlib.metadata.version("customs-etl")
    status = subprocess.run(
        [str(CLI), "status", "--format", "json"],
        capture_output=True,
        text=True,
        env=built.env,
        check=True,
    )
    document = json.loads(status.stdout)
    current = publication.current_version(built.published)
    assert current is not None
    assert document["published"] is True
    assert document["version"] == current.name
    assert document["latest_month"] == {"export": "2025-02", "import": "2024-02"}
    assert document["quarantined"] == []
    missing = subprocess.run(
        [str(CLI), "status", "--format", "json", "--warehouse", str(built.root / "none.duckdb")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 3
    assert json.loads(missing.stdout)["published"] is False


WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: holds DuckDB's lock on the file
print("holding", flush=True)
time.sleep(60)
"""


def test_a_writer_holding_the_published_file_is_named(built: Warehouse) -> None:
    """Catches DuckDB's lock error reaching the user as a traceback."""
    before = fingerprint(built.published)
    holder = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(built.published)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        result = run_cli(built, Case("writer", ["sql", "select 1"], 1, ()))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert f"held open for writing by process {holder.pid}" in line
    time.sleep(0.1)
    assert fingerprint(built.published) == before


def wait_for_query(w: Warehouse, process: subprocess.Popen[str]) -> None:
    """Until the command has opened its connection (its private spill folder exists) and the
    query has had time to start."""
    spill = w.root / "work" / "sql_spill"
    deadline = time.monotonic() + 60
    while not list(spill.glob("sql-*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(1.0)


def test_ctrl_c_ends_the_query_cleanly(built: Warehouse) -> None:
    """Catches Ctrl-C leaving a traceback, a running query or the spill folder behind."""
    query = "select count(*) from range(1000000000000)"
    process = subprocess.Popen(
        [str(CLI), "sql", query, "--timeout", "120"],
        env=built.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_query(built, process)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    print(f"\nCtrl-C to exit: {time.monotonic() - started:.2f} s")
    assert process.returncode == 130
    assert stderr.splitlines() == ["query interrupted (Ctrl-C); nothing was changed"]
    assert list((built.root / "work" / "sql_spill").glob("sql-*")) == []


def test_ctrl_c_in_the_shell_ends_the_query_not_the_shell(built: Warehouse) -> None:
    """Catches a shell that dies on Ctrl-C (or on a query error) instead of going on."""
    process = subprocess.Popen(
        [str(CLI), "shell", "--timeout", "120"],
        env=built.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write("select count(*) from range(1000000000000);\n")
    process.stdin.flush()
    wait_for_query(built, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate("select 7 * 6 as answer;\n", timeout=30)
    assert process.returncode == 0
    assert stderr.splitlines() == ["query interrupted (Ctrl-C); nothing was changed"]
    assert "42" in stdout


def test_the_shell_edits_lines_and_keeps_history(built: Warehouse) -> None:
    """Catches a shell without readline (no editing, no history): on a terminal, a line
    typed is kept in ~/.customs_etl_history for the next session."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(CLI), "shell"], env=built.env, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    output = b""

    def read_until(done: Callable[[], bool]) -> None:
        nonlocal output
        deadline = time.monotonic() + 60
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    output += os.read(main, 65536)
                except OSError:
                    return

    try:
        os.write(main, b"select 6 * 7 as answer;\r")
        read_until(lambda: output.count(b"customs> ") >= 2)  # the answer, then a new prompt
        os.write(main, b"\x04")  # Ctrl-D at the start of a line: end of input
        read_until(lambda: process.poll() is not None)
        process.wait(timeout=30)
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert b"42" in output
    history = (built.root / "home" / ".customs_etl_history").read_text()
    assert "select 6 * 7 as answer;" in history
