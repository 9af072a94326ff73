"""The national-scale generator (scripts/generate_national.py) behind `make bench`: the same
parameters give byte-identical files, and the product's parser reads them back exactly."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import polars as pl
import pytest
from support import PROJECT_DIR, SEEDS_DIR

from customs_etl.transform.exports import parse_detailed_export

ROWS_PER_MONTH = 2_000  # per flow
CAP = 60  # rows per file: small, so that partners split by regime and regimes by chapter


def _generator():
    path = PROJECT_DIR / "scripts" / "generate_national.py"
    spec = importlib.util.spec_from_file_location("generate_national", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list]:
    generator = _generator()
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    kwargs = dict(
        months=1,
        rows_per_month=ROWS_PER_MONTH,
        start="2025-06",
        seed=7,
        seeds_dir=SEEDS_DIR,
        max_rows_per_file=CAP,
    )
    written = generator.generate(first, **kwargs)
    generator.generate(second, **kwargs)
    return first, second, written


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_seed_gives_byte_identical_files(generated: tuple[Path, Path, list]) -> None:
    first, second, _ = generated
    files = _files(first)
    assert files == _files(second)
    assert {name.rsplit("/", 1)[0] for name in files} == {"export/2025-06", "import/2025-06"}


def test_files_are_the_english_export_format(generated: tuple[Path, Path, list]) -> None:
    first, _, _ = generated
    data = (first / "export" / "2025-06" / "part-001.csv").read_bytes()
    lines = data.split(b"\r\n")
    assert lines[0].startswith(b'"Date of data","Trading partner code","Trading partner",')
    assert b'"Customs Regime code","Customs Regime"' in lines[0]
    assert lines[0].endswith(b'"US dollar",') and lines[-1] == b""
    assert all(line.startswith(b'"202506","') and line.endswith(b'",') for line in lines[1:-1])
    assert b"\n" not in data.replace(b"\r\n", b"")
    # Values carry thousands separators: "1,234,567", at the end of a line before the comma.
    assert any(re.search(rb'"\d{1,3}(,\d{3})+",$', line) for line in lines[1:-1])


def test_the_product_parses_them_to_the_written_rows_and_values(
    generated: tuple[Path, Path, list],
) -> None:
    first, _, written = generated
    frames = []
    for path in sorted(first.rglob("*.csv")):
        frame = parse_detailed_export(path).frame
        assert frame.height <= CAP
        frames.append(frame.with_columns(flow=pl.lit(path.parts[-3])))
    parsed = pl.concat(frames)
    assert parsed.height == sum(m.rows for m in written) == 2 * ROWS_PER_MONTH
    assert parsed["value"].sum() == sum(m.value_total for m in written)
    assert parsed["value"].min() >= 1
    # One row per month, flow, partner, commodity and regime across all the month's files.
    grain = ["flow", "partner_code", "hs_code", "customs_regime_code"]
    assert parsed.select(grain).is_unique().all()
    assert set(parsed["hs_code"].str.len_chars().unique()) == {8}
    partners = pl.read_csv(SEEDS_DIR / "partners.csv", infer_schema=False)["partner_code"]
    assert set(parsed["partner_code"]) <= set(partners)
    regimes = pl.read_csv(SEEDS_DIR / "customs_regimes.csv", infer_schema=False)
    assert set(parsed["customs_regime_code"]) <= set(regimes["customs_regime_code"])
