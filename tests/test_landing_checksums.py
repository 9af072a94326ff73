"""The landing zone's checksum cache: an unchanged file is not read again, a changed one always is,
and receiving bytes already kept never copies them again."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import export_file

from customs_etl.errors import ReleaseError
from customs_etl.extract import landing_zone
from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release, sha256_file

# Old enough to be trusted 0.05 s after it was written, so a test need not wait 2 s; every
# change below comes later than that, hence with a later ctime even on coarse clocks.
_TEST_RACY_NS = 50_000_000


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files actually read for their checksum, in order."""
    calls: list[Path] = []

    def counting(path: Path) -> str:
        calls.append(path)
        return sha256_file(path)

    monkeypatch.setattr(landing_zone, "sha256_file", counting)
    monkeypatch.setattr(landing_zone, "_RACY_NS", _TEST_RACY_NS)
    return calls


def _drop(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "landing" / "export" / "2025-03"
    path = export_file(folder, "a.csv", "202503", [("109", "6704", 5)])
    time.sleep(2 * _TEST_RACY_NS / 1e9)
    return tmp_path / "landing", path


def _run(tmp_path: Path, landing_dir: Path, path: Path) -> str:
    """One run's discovery: a fresh zone object, as each flow run makes."""
    zone = LandingZone(tmp_path / "zone")
    return zone.receive(zone.describe(path, landing_dir=landing_dir)).release_id


def test_an_unchanged_file_is_hashed_once_across_runs(tmp_path: Path, hashed: list[Path]) -> None:
    landing_dir, path = _drop(tmp_path)
    first = _run(tmp_path, landing_dir, path)
    assert _run(tmp_path, landing_dir, path) == first == sha256_file(path)
    assert hashed == [path]


def test_a_changed_file_of_the_same_size_is_hashed_again(
    tmp_path: Path, hashed: list[Path]
) -> None:
    landing_dir, path = _drop(tmp_path)
    first = _run(tmp_path, landing_dir, path)
    time.sleep(2 * _TEST_RACY_NS / 1e9)
    path.write_bytes(path.read_bytes().replace(b'"5"', b'"6"'))  # same size, new mtime
    second = _run(tmp_path, landing_dir, path)
    assert second != first and second == sha256_file(path)
    assert len(hashed) == 2


def test_a_changed_file_is_hashed_again_even_with_its_old_mtime_restored(
    tmp_path: Path, hashed: list[Path]
) -> None:
    """What `cp -p` or `touch -d` would do: same path, size and mtime, other bytes. The ctime
    (which no one can set back) tells."""
    landing_dir, path = _drop(tmp_path)
    first = _run(tmp_path, landing_dir, path)
    before = os.stat(path)
    time.sleep(2 * _TEST_RACY_NS / 1e9)
    path.write_bytes(path.read_bytes().replace(b'"5"', b'"6"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    second = _run(tmp_path, landing_dir, path)
    assert second != first and second == sha256_file(path)
    assert len(hashed) == 2


def test_a_file_replaced_by_another_is_hashed_again(tmp_path: Path, hashed: list[Path]) -> None:
    landing_dir, path = _drop(tmp_path)
    first = _run(tmp_path, landing_dir, path)
    other = export_file(tmp_path / "elsewhere", "a.csv", "202503", [("109", "6704", 6)])
    os.replace(other, path)  # another inode under the same name
    assert _run(tmp_path, landing_dir, path) != first
    assert len(hashed) == 2


def test_a_file_written_just_now_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[Path]
) -> None:
    """It could change again within the same timestamp tick, its stat unchanged."""
    monkeypatch.setattr(landing_zone, "_RACY_NS", 3_600 * 10**9)
    landing_dir, path = _drop(tmp_path)
    _run(tmp_path, landing_dir, path)
    _run(tmp_path, landing_dir, path)
    assert len(hashed) == 2


def test_a_damaged_cache_only_costs_a_rehash(tmp_path: Path, hashed: list[Path]) -> None:
    landing_dir, path = _drop(tmp_path)
    first = _run(tmp_path, landing_dir, path)
    cache = tmp_path / "zone" / landing_zone.CHECKSUMS
    cache.write_text('{"path": "x", "sha256"\nnot json\n[1]\n' + cache.read_text()[:-10])
    assert _run(tmp_path, landing_dir, path) == first
    assert len(hashed) == 2


def test_receiving_bytes_already_kept_copies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing_dir, path = _drop(tmp_path)
    copy = landing_dir / "export" / "2025-03" / "b.csv"
    copy.write_bytes(path.read_bytes())
    zone = LandingZone(tmp_path / "zone")
    kept = zone.receive(zone.describe(path, landing_dir=landing_dir))

    def no_copy(source: Path, target: Path) -> None:
        raise AssertionError(f"{source} copied again to {target}")

    monkeypatch.setattr(landing_zone, "_store", no_copy)
    for name in (path, copy, path):
        again = LandingZone(tmp_path / "zone")
        assert again.receive(again.describe(name, landing_dir=landing_dir)).path == kept.path
    assert [e.origin for e in zone.entries()] == ["export/2025-03/a.csv", "export/2025-03/b.csv"]


def test_a_file_rewritten_between_its_checksum_and_its_copy_is_refused(tmp_path: Path) -> None:
    drop = tmp_path / "landing"
    path = export_file(drop / "export/2025-03", "a.csv", "202503", [("109", "6704", 500)])
    zone = LandingZone(tmp_path / "zone")
    release = zone.describe(path, landing_dir=drop)
    # Rewritten (same size) after the checksum was taken, before the zone copies it.
    export_file(drop / "export/2025-03", "a.csv", "202503", [("109", "6704", 600)])
    with pytest.raises(ReleaseError, match="changed while it was being received") as refused:
        zone.receive(release)
    assert refused.value.file == "export/2025-03/a.csv"
    assert release.release_id in str(refused.value.expected)
    objects = [p for p in (tmp_path / "zone").rglob("*") if p.is_file()]
    assert not [p for p in objects if "objects" in p.parts], "no object under a stale checksum"
    # Once stable, the next look takes the new bytes under their own checksum.
    again = zone.receive(zone.describe(path, landing_dir=drop))
    assert again.release_id == sha256_file(path) != release.release_id
    assert sha256_file(again.path) == again.release_id


def test_the_same_bytes_under_two_names_received_at_once_are_kept_whole(tmp_path: Path) -> None:
    """Discovery receives files two at a time: two names for the same bytes must not write the
    one object they share at once (a torn or missing copy)."""
    drop = tmp_path / "landing" / "export" / "2025-03"
    drop.mkdir(parents=True)
    body = os.urandom(1 << 20) * 12  # a dozen 1 MiB copy steps each: the writes overlap
    for round_ in range(6):
        names = [drop / f"r{round_}-{n}.csv" for n in (1, 2)]
        for name in names:
            name.write_bytes(body + str(round_).encode())
        zone = LandingZone(tmp_path / "zone")
        releases = [describe_release(n, landing_dir=tmp_path / "landing") for n in names]
        with ThreadPoolExecutor(2) as pool:
            kept = list(pool.map(zone.receive, releases))
        assert kept[0].path == kept[1].path
        assert sha256_file(kept[0].path) == releases[0].release_id
        origins = {e.origin for e in zone.entries()}
        assert {f"export/2025-03/r{round_}-{n}.csv" for n in (1, 2)} <= origins
