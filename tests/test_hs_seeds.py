"""The analysts' seeds are what scripts/build_hs_seeds.py builds from their sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from support import PROJECT_DIR

SEEDS = PROJECT_DIR / "seeds"


def _script():
    spec = importlib.util.spec_from_file_location(
        "build_hs_seeds", PROJECT_DIR / "scripts" / "build_hs_seeds.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_seeds_are_the_scripts_output(tmp_path: Path) -> None:
    counts = _script().build(tmp_path)
    for name in counts:
        assert (tmp_path / f"{name}.csv").read_bytes() == (SEEDS / f"{name}.csv").read_bytes()
    assert counts["quantity_units"] == 36


def test_chinese_units_read_as_the_platforms_english() -> None:
    lines = (SEEDS / "quantity_units.csv").read_text(encoding="utf-8").splitlines()
    units = dict(line.split(",")[:2] for line in lines[1:])
    assert units["千克"] == "Kilogram"
    assert units["个"] == "Number of item"
    assert len(set(units.values())) == len(units)


def test_a_curation_listing_a_unit_twice_fails_in_one_line(tmp_path: Path) -> None:
    script = _script()
    curation = tmp_path / "quantity_units.csv"
    curation.write_text(
        "quantity_unit_zh,quantity_unit_en,confirmed\n千克,Kilogram,yes\n千克,Kg,no\n",
        encoding="utf-8",
    )
    script.CURATION_DIR = tmp_path
    try:
        script.build_units()
    except script.SeedError as error:
        assert str(error) == "quantity_units.csv, Chinese unit: listed more than once: 千克"
    else:
        raise AssertionError("a unit listed twice was accepted")
