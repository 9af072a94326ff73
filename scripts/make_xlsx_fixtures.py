"""Write the XLSX test fixtures from the CSV fixtures: the same cells, as the platform exports them.

The English workbook stores the month and plain numbers as numeric cells and leaves numbers
with thousands separators as text, so one column mixes both kinds of cell; the Chinese one keeps
every cell as text.
Both must parse to exactly the frame of their CSV. Codes stay text (leading zeros matter).

    .venv/bin/python scripts/make_xlsx_fixtures.py
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import xlsxwriter

EXPORTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "exports"
# Columns written as numeric cells in the English workbook.
NUMERIC = {"Date of data", "Quantity", "Supplimentary Quantity", "US dollar"}
# A fixed creation time keeps the committed files byte-for-byte reproducible.
CREATED = dt.datetime(2025, 7, 20)


def rows_of(csv_path: Path, encoding: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding=encoding))))
    # The English export's trailing comma is a CSV artefact: the workbook has no empty column.
    return [row[:-1] if row and row[-1] == "" else row for row in rows]


def cell(header: str, text: str, numeric: bool) -> str | int:
    return int(text) if numeric and header in NUMERIC and text.isdigit() else text


def write_workbook(target: Path, rows: list[list[str]], *, numeric: bool) -> None:
    book = xlsxwriter.Workbook(str(target))
    book.set_properties({"created": CREATED})
    sheet = book.add_worksheet("Sheet1")
    header = rows[0]
    sheet.write_row(0, 0, header)
    for number, row in enumerate(rows[1:], start=1):
        for column, text in enumerate(row):
            value = cell(header[column], text, numeric)
            if isinstance(value, int):
                sheet.write_number(number, column, value)
            else:
                sheet.write_string(number, column, text)  # "-" and "12,500" stay text
    book.close()


def main() -> None:
    english = rows_of(EXPORTS / "en_import_201810_ceuta.csv", "utf-8")
    write_workbook(EXPORTS / "en_import_201810_ceuta.xlsx", english, numeric=True)
    chinese = rows_of(EXPORTS / "zh_export_202506_prk.csv", "gb18030")
    write_workbook(EXPORTS / "zh_export_202506_prk.xlsx", chinese, numeric=False)


if __name__ == "__main__":
    main()
