"""A run that runs out of disk space: a real tmpfs of a few megabytes holds the warehouse."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from support import export_file, run_job

from customs_etl.errors import DiskFullError


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """Mount a tmpfs (the tests run as root, like CI); its size is set by the test."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()

    def mount(size: int) -> Path:
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)]
        subprocess.run(command, check=True)
        return mount_point

    yield mount  # type: ignore[misc]
    subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_leaves_the_published_warehouse_untouched(
    prefect_harness: None, tmp_path: Path, small_disk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    landing = tmp_path / "landing"
    export_file(landing / "export/2025-01", "a.csv", "202501", [("109", "10063020", 100)])
    first = tmp_path / "first" / "customs.duckdb"
    run_job(str(landing), str(first))
    size = first.stat().st_size
    # Room for the published file and a little more, not for a second copy to build in.
    disk = small_disk(size + size // 2)
    published = disk / "customs.duckdb"
    shutil.copy2(first, published)
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    export_file(landing / "export/2025-02", "a.csv", "202502", [("109", "10063020", 200)])

    with pytest.raises(DiskFullError) as caught:
        run_job(str(landing), str(published))

    assert "is full" in str(caught.value) and "unchanged" in str(caught.value)
    assert hashlib.sha256(published.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in disk.iterdir() if not p.name.startswith(".")) == [
        "customs.duckdb",
        "landing_zone",
    ]
    # What the landing zone kept is whole: every object's bytes match the checksum it is named by.
    kept = [p for p in (disk / "landing_zone" / "objects").rglob("*") if p.is_file()]
    assert kept and all(
        hashlib.sha256(p.read_bytes()).hexdigest() == p.name.split(".")[0] for p in kept
    )
    assert not (disk / ".customs.duckdb.build").exists()  # the partial build was removed
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select count(*) from marts.trade_monthly").fetchone() == (2,)
    con.close()
