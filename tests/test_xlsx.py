"""The query platform's XLSX export: the same frame as its CSV, the same errors, by name."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from support import SEEDS_DIR

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import describe_release, discover_release_files
from customs_etl.transform import parse
from customs_etl.transform.exports import parse_detailed_export

# Made from the CSV fixtures by scripts/make_xlsx_fixtures.py (English: numeric and text cells
# mixed in one column; Chinese: every cell text, thousands separators kept).
FIXTURES = ["en_import_201810_ceuta", "zh_export_202506_prk"]
ENGLISH_HEADER = ["Date of data", "Trading partner code", "Trading partner", "Commodity code"]
ENGLISH_HEADER += ["Commodity", "Quantity", "Unit", "US dollar"]


def workbook(path: Path, rows: list[list[object]]) -> Path:
    """A one-sheet workbook; an empty row stays blank, ints become numeric cells."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for number, row in enumerate(rows):
        for column, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(number, column, value)
            elif value is not None:
                sheet.write_string(number, column, str(value))
    book.close()
    return path


@pytest.mark.parametrize("stem", FIXTURES)
def test_xlsx_fixture_parses_to_exactly_the_csv_frame(exports_dir: Path, stem: str) -> None:
    from_csv = parse_detailed_export(exports_dir / f"{stem}.csv")
    from_xlsx = parse_detailed_export(exports_dir / f"{stem}.xlsx")
    assert from_xlsx.frame.schema == from_csv.frame.schema
    assert from_xlsx.frame.equals(from_csv.frame)
    assert (from_xlsx.dialect, from_xlsx.currency) == (from_csv.dialect, from_csv.currency)
    assert from_xlsx.encoding == "xlsx"


def test_english_xlsx_values_from_numeric_and_text_cells(exports_dir: Path) -> None:
    frame = parse_detailed_export(exports_dir / "en_import_201810_ceuta.xlsx").frame
    # 345 is a numeric cell, "1,161" a text cell with a separator: both are whole dollars.
    assert frame["value"].to_list() == [345, 1161, 48377, 1204551, 9020]
    assert frame["period"].unique().to_list() == [dt.date(2018, 10, 1)]
    assert frame["quantity"].to_list() == [8000.0, 363.0, 12500.0, 1020.0, None]
    assert frame["hs_code"].to_list()[:2] == ["62121090", "96151100"]
    assert frame["supplementary_unit"].to_list() == ["Kilogram", None, None, "Number of item", None]
    assert frame["source_row"].to_list() == [2, 3, 4, 5, 6]


def test_chinese_xlsx_values(exports_dir: Path) -> None:
    parsed = parse_detailed_export(exports_dir / "zh_export_202506_prk.xlsx")
    assert (parsed.dialect, parsed.currency) == ("gacc_query_zh", "USD")
    assert parsed.frame["value"].to_list() == [2345678, 312000, 264500]
    assert parsed.frame["partner_name_source"][0] == "朝鲜"
    assert parsed.frame["supplementary_quantity"].to_list() == [0.0, 0.0, None]


def test_a_workbook_is_known_by_its_content_whatever_its_name(
    exports_dir: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "download.csv"
    renamed.write_bytes((exports_dir / "zh_export_202506_prk.xlsx").read_bytes())
    expected = parse_detailed_export(exports_dir / "zh_export_202506_prk.csv").frame
    assert parse_detailed_export(renamed).frame.equals(expected)


def test_bad_cell_names_the_sheet_row_and_header(tmp_path: Path) -> None:
    good = [201810, "210", "Ceuta", "62121090", "Bras", 8000, "Kilogram", 345]
    bad = [201810, "210", "Ceuta", "96151100", "Combs", "many", "Kilogram", "1,161"]
    # Sheet rows: 1 header, 2 good, 3 blank (skipped, but still counted), 4 bad.
    path = workbook(tmp_path / "bad.xlsx", [ENGLISH_HEADER, good, [], bad])
    with pytest.raises(ReleaseError) as caught:
        parse_detailed_export(path, "import/2018-10/bad.xlsx")
    error = caught.value
    assert (error.file, error.row, error.field, error.found) == (
        "import/2018-10/bad.xlsx",
        4,
        "Quantity",
        "many",
    )


def test_header_only_workbook_has_no_data_rows(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="header but no data rows"):
        parse_detailed_export(workbook(tmp_path / "header.xlsx", [ENGLISH_HEADER]))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)
    return buffer.getvalue()


def _damaged_part(good: bytes) -> bytes:
    """The fixture with one byte of its compressed worksheet flipped (the zip still opens)."""
    archive = zipfile.ZipFile(io.BytesIO(good))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    return good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1 :]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda good: good[: len(good) // 2], "zip archive is cut off or damaged"),
        (lambda good: b"", "the file is empty"),
        (lambda good: b'"Date of data","US dollar",\r\n', "it is not a zip archive"),
        (
            lambda good: b"<html><head><title>412</title></head><body>Please enable JavaScript",
            "anti-bot challenge page",
        ),
        (lambda good: _zip({"word/document.xml": b"<w/>"}), "not an XLSX workbook"),
        (lambda good: _zip({"xl/workbook.xml": b"<not a workbook"}), "workbook cannot be read"),
        (_damaged_part, "workbook is damaged"),
    ],
    ids=["cut-off", "empty", "csv-named-xlsx", "challenge", "docx", "no-sheet", "bad-crc"],
)
def test_a_damaged_or_foreign_xlsx_is_refused_by_name(
    exports_dir: Path, tmp_path: Path, damage: Callable[[bytes], bytes], problem: str
) -> None:
    good = (exports_dir / "en_import_201810_ceuta.xlsx").read_bytes()
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(damage(good))
    with pytest.raises(ReleaseError) as caught:
        parse_detailed_export(path, "import/2018-10/damaged.xlsx")
    message = str(caught.value)
    assert message.startswith("import/2018-10/damaged.xlsx: ")
    assert problem in message
    assert "expected an .xlsx workbook exported by the GACC query platform" in message


def test_xlsx_exports_are_release_files_and_stage_like_the_csv(
    exports_dir: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    folder = landing / "export" / "2025-06"
    folder.mkdir(parents=True)
    for suffix in (".csv", ".xlsx"):
        source = exports_dir / f"zh_export_202506_prk{suffix}"
        (folder / source.name).write_bytes(source.read_bytes())
    found = discover_release_files(landing)
    assert [p.name for p in found] == ["zh_export_202506_prk.csv", "zh_export_202506_prk.xlsx"]
    staged = [
        parse.parse_release(describe_release(p, landing_dir=landing), tmp_path, SEEDS_DIR)
        for p in found
    ]
    from_csv, from_xlsx = (pl.read_parquet(s.path).drop("release_id") for s in staged)
    assert from_xlsx.equals(from_csv)
    assert from_xlsx["partner_iso3"].unique().to_list() == ["PRK"]
    assert [s.value_total for s in staged] == [2345678 + 312000 + 264500] * 2
