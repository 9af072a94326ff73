"""Huge or malformed release files are refused by size before they can exhaust memory."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.settings import Settings
from customs_etl.transform.exports import parse_detailed_export

MiB = 1 << 20


def gzip_bomb(path: Path, mebibytes: int) -> Path:
    """`mebibytes` MiB of zeros, gzip-compressed a MiB at a time (about 1 KB per MiB)."""
    zeros = bytes(MiB)
    with gzip.open(path, "wb", compresslevel=9) as packed:
        for _ in range(mebibytes):
            packed.write(zeros)
    return path


def test_the_limit_is_a_setting_of_256_mib_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_release_bytes == 256 * MiB
    monkeypatch.setenv("CUSTOMS_MAX_RELEASE_BYTES", "1048576")
    assert Settings().max_release_bytes == MiB


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit(exports_dir: Path) -> None:
    path = exports_dir / "en_import_201810_ceuta.csv"
    size = path.stat().st_size
    with pytest.raises(ReleaseTooLargeError) as caught:
        parse_detailed_export(path, "import/2018-10/ceuta.csv", max_bytes=size - 1)
    assert str(caught.value) == (
        f"import/2018-10/ceuta.csv: the file is too large: {size:,} bytes, over the limit of "
        f"{size - 1:,} bytes; expected a release of at most {size - 1:,} bytes "
        "(setting CUSTOMS_MAX_RELEASE_BYTES)"
    )
    assert caught.value.limit == size - 1
    # At the limit exactly the file is read as usual.
    assert parse_detailed_export(path, max_bytes=size).frame.height == 5


def test_a_csv_gz_is_measured_decompressed(exports_dir: Path, tmp_path: Path) -> None:
    plain = exports_dir / "zh_export_202506_prk.csv"
    packed = tmp_path / "prk.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes() * 4))  # small packed, larger unpacked
    limit = plain.stat().st_size * 2
    assert packed.stat().st_size < limit
    with pytest.raises(
        ReleaseTooLargeError, match=rf"prk.csv.gz: the gzip file .* limit of {limit:,}"
    ):
        parse_detailed_export(packed, max_bytes=limit)


def test_an_xlsx_is_measured_unpacked(exports_dir: Path) -> None:
    workbook = exports_dir / "en_import_201810_ceuta.xlsx"
    limit = workbook.stat().st_size + 1  # the file passes, its unpacked parts do not
    with pytest.raises(ReleaseTooLargeError, match=rf"unpacks to more than the limit of {limit:,}"):
        parse_detailed_export(workbook, max_bytes=limit)
    assert parse_detailed_export(workbook, max_bytes=MiB).frame.height == 5


def test_damaged_gzip_is_still_a_damaged_file_under_a_limit(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(b'"Date of data","US dollar",\r\n' * 1000)[:60])
    with pytest.raises(ReleaseError, match="gzip file is damaged"):
        parse_detailed_export(cut, max_bytes=MiB)


# Linux carries a process's peak RSS (ru_maxrss, KiB) over fork and exec, so a child of pytest
# would start with pytest's peak. A bare interpreter launches the measured one instead: its
# peak starts from the launcher's few MiB, and what it reports is its own.
_LAUNCH = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
_MEASURE = textwrap.dedent(
    """
    import gzip, json, resource, sys
    from pathlib import Path
    from customs_etl.errors import ReleaseTooLargeError
    from customs_etl.transform.exports import parse_detailed_export

    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    path, before = Path(sys.argv[1]), peak()
    try:
        parse_detailed_export(path, max_bytes=1 << 20)
        error = None
    except ReleaseTooLargeError as refused:
        error = str(refused)
    capped = peak()
    # The control: what the reader did before the cap (gzip.decompress) peaks at.
    gzip.decompress(path.read_bytes())
    print(json.dumps({"before": before, "capped": capped, "naive": peak(), "error": error}))
    """
)


def test_a_gzip_bomb_is_refused_without_expanding_it_in_memory(tmp_path: Path) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", 200)
    assert bomb.stat().st_size < 1 * MiB  # 200 MiB of zeros pack to about 200 KB
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCH, sys.executable, "-c", _MEASURE, str(bomb)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    measured = json.loads(result.stdout)
    print(measured)
    assert measured["error"].startswith("bomb.csv.gz: the gzip file (")
    assert "decompresses to more than the limit of 1,048,576 bytes" in measured["error"]
    # Refusing costs a few MiB over the interpreter and its imports (measured: about 3 MiB over
    # 56 MiB), never the 200 MiB.
    assert measured["capped"] - measured["before"] < 8 * MiB
    assert measured["capped"] < 100 * MiB
    # The measurement does see an expansion: the uncapped read peaks above 200 MiB.
    assert measured["naive"] - measured["before"] > 200 * MiB
