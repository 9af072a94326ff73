"""Quantities and unit values in the commodity marts, on real-format GACC exports (an English
export split by customs regime and a Chinese one of the same month), with real DuckDB files.
The expected figures are read from the files themselves with the csv module, not the parser."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from support import FIXTURES, SEEDS_DIR, SQL_DIR

from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.report import text as report
from customs_etl.transform import parse

EXPORTS = FIXTURES / "exports"
ENGLISH = EXPORTS / "en_export_202506_prk_regimes.csv"
CHINESE = EXPORTS / "zh_export_202506_prk.csv"
JUNE = dt.date(2025, 6, 1)


def _number(text: str) -> int:
    return 0 if text.strip() in ("", "-", "—") else int(text.replace(",", ""))


def file_lines(path: Path, encoding: str) -> list[dict[str, str]]:
    """The file's rows under English names: code, quantity, unit, value."""
    with path.open(encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    names = {
        "Commodity code": "code",
        "商品编码": "code",
        "Quantity": "quantity",
        "第一数量": "quantity",
        "Unit": "unit",
        "第一计量单位": "unit",
        "US dollar": "value",
        "美元": "value",
    }
    return [
        {names[h]: cell for h, cell in zip(header, row, strict=False) if h in names}
        for row in rows[1:]
        if row
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("quantities")
    landing = work / "landing"
    for source in (ENGLISH, CHINESE):
        target = landing / "export" / "2025-06" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    db = work / "w.duckdb"
    zone = LandingZone(work / "zone")
    con = connection.connect(db)
    models.prepare_schema(con, SQL_DIR)
    for source in (ENGLISH, CHINESE):
        path = landing / "export" / "2025-06" / source.name
        release = zone.receive(describe_release(path, landing_dir=landing))
        parsed = parse.parse_release(release, work / "staging", SEEDS_DIR)
        loader.load_release(con, parsed.path, registry.loaded_record(parsed))
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()
    return db


def monthly(db: Path, level: int, code: str) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "select value_usd, quantity, quantity_unit, unit_value_usd "
            "from marts.trade_by_commodity_monthly where partner_iso3 = 'PRK' "
            "and flow = 'export' and period = ? and hs_level = ? and hs_code = ?",
            [JUNE, level, code],
        ).fetchone()
    finally:
        con.close()
    assert row is not None, f"no row for {code}"
    return row


def test_a_tariff_lines_quantity_is_the_files_sum_to_the_unit(built: Path) -> None:
    # Processed hair: three regimes in the English file (Kilogram), one in the Chinese (千克).
    lines = [r for r in file_lines(ENGLISH, "utf-8") if r["code"] == "67030000"]
    lines += [r for r in file_lines(CHINESE, "gb18030") if r["code"] == "67030000"]
    assert len(lines) == 4 and {r["unit"] for r in lines} == {"Kilogram", "千克"}
    quantity = sum(_number(r["quantity"]) for r in lines)
    value = sum(_number(r["value"]) for r in lines)
    assert (quantity, value) == (62_470, 5_106_919)  # what the two files say, added by hand

    value_usd, mart_quantity, unit, unit_value = monthly(built, 8, "67030000")
    assert (value_usd, mart_quantity, unit) == (value, quantity, "Kilogram")
    assert unit_value == pytest.approx(value / quantity, rel=1e-12)
    # The code's 6- and 4-digit figures hold only this line: the same quantity.
    assert monthly(built, 4, "6703")[1:3] == (quantity, "Kilogram")


def test_a_figure_of_several_units_has_no_quantity(built: Path) -> None:
    # 9401 (seats) is counted in items, 9403 (furniture) in kilograms: chapter 94 mixes them.
    seats = [r for r in file_lines(ENGLISH, "utf-8") if r["code"] == "94016100"]
    assert monthly(built, 8, "94016100")[1:3] == (
        sum(_number(r["quantity"]) for r in seats),
        "Number of item",
    )
    value, quantity, unit, unit_value = monthly(built, 2, "94")
    assert value == 259_200 + 33_790 + 215_710
    assert (quantity, unit, unit_value) == (None, None, None)
    # A line without a unit ("-", quantity 0) has no quantity, nor has its chapter.
    assert monthly(built, 8, "49019900")[1:] == (None, None, None)


def test_the_half_year_adds_quantities_and_the_report_shows_the_unit_value(built: Path) -> None:
    con = duckdb.connect(str(built), read_only=True)
    try:
        half = con.execute(
            "select value_usd, quantity, quantity_unit, unit_value_usd, quantity_prev_year "
            "from marts.trade_by_commodity_half_year where partner_iso3 = 'PRK' "
            "and flow = 'export' and year = 2025 and half = 'H1' and hs_code = '6703'"
        ).fetchone()
        top = report.top_commodities(con, "PRK", report.HalfYear(2025, "H1"), "export")
        paragraph = report.article(con, "PRK", report.HalfYear(2025, "H1"))
    finally:
        con.close()
    assert half == (5_106_919, 62_470, "Kilogram", pytest.approx(5_106_919 / 62_470), None)
    hair = top.row(0, named=True)
    assert hair["hs_code"] == "6703"
    assert report.unit_value(hair) == "$81.75 per Kilogram"
    assert report.volume_and_price(hair) == "no comparable figure a year earlier"
    assert "6703 Human hair" in paragraph and "$81.75 per Kilogram" in paragraph


def test_the_change_on_a_year_earlier_splits_into_volume_and_price(tmp_path: Path) -> None:
    """June 2024 from the same English export: fewer kilograms of hair for the same dollars in
    one regime, so 2025's change is more volume at a lower price."""
    landing = tmp_path / "landing"
    june = landing / "export" / "2025-06" / ENGLISH.name
    june.parent.mkdir(parents=True)
    shutil.copy(ENGLISH, june)
    text = ENGLISH.read_text(encoding="utf-8").replace('"202506"', '"202406"')
    text = text.replace('"45,871"', '"40,000"')
    earlier = landing / "export" / "2024-06" / ENGLISH.name
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(text.encode("utf-8"))
    db = tmp_path / "w.duckdb"
    zone = LandingZone(tmp_path / "zone")
    con = connection.connect(db)
    models.prepare_schema(con, SQL_DIR)
    for path in (earlier, june):
        release = zone.receive(describe_release(path, landing_dir=landing))
        parsed = parse.parse_release(release, tmp_path / "staging", SEEDS_DIR)
        loader.load_release(con, parsed.path, registry.loaded_record(parsed))
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    top = report.top_commodities(con, "PRK", report.HalfYear(2025, "H1"), "export")
    con.close()

    hair = top.row(0, named=True)
    value = 66_220 + 2_523_905 + 171_116
    now, before = 1_204 + 45_871 + 3_050, 1_204 + 40_000 + 3_050
    assert (hair["value_usd"], hair["value_usd_prev_year"]) == (value, value)
    assert (hair["quantity"], hair["quantity_prev_year"]) == (now, before)
    assert hair["unit_value_usd_prev_year"] == pytest.approx(value / before)
    volume, price = round(100 * (now / before - 1), 1), round(100 * (before / now - 1), 1)
    assert (volume, price) == (13.3, -11.7)  # 50,125 kg against 44,254 kg
    assert report.volume_and_price(hair) == "+0.0%: volume +13.3%, price -11.7%"
