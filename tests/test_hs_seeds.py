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
    assert counts["quantity_units"] == 122  # GACC's whole list of units


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
        "quantity_unit_zh,quantity_unit_en,confirmed,unit_code\n"
        "千克,Kilogram,yes,035\n千克,Kg,no,036\n",
        encoding="utf-8",
    )
    script.CURATION_DIR = tmp_path
    try:
        script.build_units()
    except script.SeedError as error:
        assert str(error) == "quantity_units.csv, Chinese unit: listed more than once: 千克"
    else:
        raise AssertionError("a unit listed twice was accepted")


def _rows(name: str) -> list[list[str]]:
    import csv

    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def test_the_correlation_gives_each_hs2022_code_one_conversion() -> None:
    rows = _rows("hs2022_hs2017")
    conversions: dict[str, list[str]] = {}
    for hs2022, hs2017, relationship, conversion in rows:
        assert relationship in {"1:1", "n:1", "1:n", "n:n"}
        assert len(hs2022) == len(hs2017) == 6
        if conversion == "yes":
            conversions.setdefault(hs2022, []).append(hs2017)
    assert all(len(codes) == 1 for codes in conversions.values())
    assert len(conversions) == len({row[0] for row in rows}) == 5613
    pairs = {(a, b): r for a, b, r, _ in rows}
    assert pairs["670300", "670300"] == "1:1"
    assert pairs["851713", "851712"] == "n:1"  # smartphones: split out of 851712
    assert conversions["852411"] == ["851712"] and pairs["852411", "851712"] == "n:n"


def test_bec_categories_have_an_end_use_and_hs_codes_a_category() -> None:
    categories = {row[0]: row for row in _rows("bec4_categories")}
    end_use = {code: row[5] for code, row in categories.items() if row[4] == "yes"}
    assert end_use["41"] == end_use["521"] == "capital"
    assert end_use["112"] == end_use["61"] == end_use["63"] == "consumption"
    assert end_use["111"] == end_use["22"] == end_use["42"] == "intermediate"
    assert end_use["51"] == end_use["321"] == end_use["7"] == "not_classified"
    mapped = {(e, c): b for e, c, b, _ in _rows("hs_bec4")}
    assert mapped["HS2017", "670300"] and mapped["HS2022", "670300"]
    assert {b for b in mapped.values() if b} <= set(categories)
