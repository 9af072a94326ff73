"""Release discovery: checksums, flows from folders, and files that must not get in."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
from support import export_file, run_job

from customs_etl.errors import ReleaseError, ReleaseTooLargeError, UnknownFlowError
from customs_etl.extract.releases import describe_release, discover_release_files

CLI = str(Path(sys.executable).with_name("customs-etl"))


def test_discovery_finds_release_files_in_a_stable_order(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    export_file(landing / "import" / "2025-02", "b.csv", "202502", [("109", "6704", 1)])
    export_file(landing / "export" / "2025-01", "a.csv", "202501", [("109", "6703", 1)])
    export_file(landing / "export" / ".partial", "c.csv", "202501", [("109", "6703", 1)])
    (landing / "export" / "notes.txt").write_text("not a release")
    found = [p.relative_to(landing).as_posix() for p in discover_release_files(landing)]
    assert found == ["export/2025-01/a.csv", "import/2025-02/b.csv"]


def test_a_release_is_named_by_its_checksum_and_its_flow_by_its_folder(tmp_path: Path) -> None:
    path = export_file(tmp_path / "l" / "Import" / "x", "f.csv", "202501", [("109", "6704", 2)])
    release = describe_release(path, landing_dir=tmp_path / "l")
    assert release.release_id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (release.flow, release.source_name) == ("import", "Import/x/f.csv")
    assert release.size_bytes == path.stat().st_size


def test_the_same_bytes_under_another_name_are_the_same_release(tmp_path: Path) -> None:
    a = export_file(tmp_path / "export", "a.csv", "202501", [("109", "6704", 2)])
    b = tmp_path / "export" / "copy of a.csv"
    b.write_bytes(a.read_bytes())
    assert (
        describe_release(a, landing_dir=tmp_path).release_id
        == describe_release(b, landing_dir=tmp_path).release_id
    )


def test_an_export_without_a_known_flow_is_refused_with_the_remedy(tmp_path: Path) -> None:
    path = export_file(tmp_path / "downloads", "f.csv", "202501", [("109", "6704", 2)])
    with pytest.raises(UnknownFlowError, match=r"--flow import\|export"):
        describe_release(path, landing_dir=tmp_path)
    assert describe_release(path, flow="export").source_name == "f.csv"


def test_links_out_of_the_landing_folder_and_odd_names_stay_out_of_bounds(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    secret = export_file(tmp_path / "elsewhere", "secret.csv", "202501", [("109", "6704", 9)])
    (landing / "export").mkdir(parents=True)
    (landing / "export" / "escape.csv").symlink_to(secret)
    odd = export_file(landing / "export", "$(rm -rf ~); `x` ..csv", "202501", [("109", "1006", 1)])
    found = discover_release_files(landing)
    assert found == [odd]
    assert describe_release(odd, landing_dir=landing).source_name == "export/$(rm -rf ~); `x` ..csv"


def test_a_name_a_shell_would_run_goes_through_the_whole_job_as_a_name(tmp_path: Path) -> None:
    """`customs-etl run` over a file whose name runs commands in a shell ($(...) and
    backticks that create files): were the name ever passed to a shell, the files would appear
    in the working folder. The job loads the file and records its name exactly."""
    landing = tmp_path / "landing"
    name = "$(touch ran-dollar) `touch ran-backtick` ;touch ran-semicolon.csv"
    export_file(landing / "export" / "2025-01", name, "202501", [("109", "1006", 5)])
    published = tmp_path / "warehouse" / "customs.duckdb"
    env = os.environ | {"CUSTOMS_WORK_DIR": str(tmp_path / "work")}
    done = subprocess.run(
        [CLI, "run", "--landing", str(landing), "--warehouse", str(published)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing", "warehouse", "work"]
    con = duckdb.connect(str(published), read_only=True)
    loaded = con.execute("select source_name, value_total from meta.releases").fetchall()
    con.close()
    assert loaded == [(f"export/2025-01/{name}", 5)]


def test_a_missing_landing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"landing folder .* does not exist"):
        discover_release_files(tmp_path / "nope")


def test_gzip_exports_are_release_files(tmp_path: Path) -> None:
    import gzip

    plain = export_file(tmp_path / "export" / "2025-01", "a.csv", "202501", [("109", "6703", 1)])
    packed = plain.with_name("b.csv.gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert [p.name for p in discover_release_files(tmp_path)] == ["a.csv", "b.csv.gz"]


def test_a_release_error_survives_being_kept_as_a_task_result() -> None:
    # The staging task returns the errors of the files it could not stage; Prefect pickles
    # its result, and the quarantine report needs every field back, not just the message.
    errors = [
        ReleaseError("a.csv", "2 value(s) do not parse", row=7, field="US dollar", found="x"),
        ReleaseTooLargeError("b.csv.gz", "too large", limit=1024),
    ]
    for error in errors:
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert vars(again) == vars(error)
        assert str(again) == str(error) == error.message()
    assert pickle.loads(pickle.dumps(errors[1])).limit == 1024


def test_the_same_bytes_under_two_names_staged_at_once_are_staged_whole(tmp_path: Path) -> None:
    """Files are staged several at a time: two names for the same bytes are one release, one
    staged file, which the two must not write through the same temporary name."""
    import polars as pl
    from support import SEEDS_DIR

    from customs_etl.transform import parse

    lines = [("109", f"{code:08d}", code + 1) for code in range(1, 20_000)]
    for round_ in range(8):
        folder = tmp_path / "landing" / "export" / "2025-03"
        names = [export_file(folder, f"r{round_}-{n}.csv", "202503", lines) for n in (1, 2)]
        releases = [describe_release(p, landing_dir=tmp_path / "landing") for p in names]
        assert releases[0].release_id == releases[1].release_id
        with ThreadPoolExecutor(2) as pool:
            staged = list(
                pool.map(
                    lambda r: parse.parse_release(r, tmp_path / "staging", SEEDS_DIR),
                    releases,
                )
            )
        assert staged[0].path == staged[1].path
        assert pl.read_parquet(staged[0].path).height == len(lines)
        assert list((tmp_path / "staging").glob("*partial*")) == []


def test_the_landing_zone_inside_the_landing_folder_is_never_taken_for_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse kept inside its own landing folder: the zone's copies (named by checksum,
    under no flow folder) are left out of discovery, run after run."""
    landing = tmp_path / "landing"
    export_file(landing / "export" / "2025-01", "a.csv", "202501", [("109", "1006", 5)])
    published = landing / "warehouse" / "customs.duckdb"
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    first = run_job(landing, published)
    assert (published.parent / "landing_zone" / "objects").is_dir()
    again = run_job(landing, published)
    assert (first.releases_seen, first.loaded, first.rejected) == (1, ["export/2025-01/a.csv"], {})
    assert (again.releases_seen, again.skipped, again.rejected) == (1, ["export/2025-01/a.csv"], {})
    assert not again.published
