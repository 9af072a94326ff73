"""Text cells are data, not formulas: a release whose unit is not one GACC uses, or whose text
starts like a spreadsheet formula where GACC never writes one, is refused before it is loaded.

A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` (OWASP "CSV injection"); units
and file names reach the marts, `sql --format csv` and the Parquet export, so such a value
would reach an analyst's spreadsheet unchanged."""

from __future__ import annotations

from pathlib import PurePosixPath

import polars as pl

from customs_etl import seeds
from customs_etl.errors import ReleaseError

FORMULA_STARTS = ("=", "+", "-", "@")
UNIT_COLUMNS = {"quantity_unit": "Unit", "supplementary_unit": "Supplementary Unit"}
# Names GACC prints for partners and commodities: never a formula; a leading dash (an HS
# sub-item, "- Other") is GACC's, so only a dash followed by something else is refused.
NAME_COLUMNS = {"partner_name_source": "partner name", "commodity_name_source": "commodity name"}
_FORMULA_NAME = r"^(?:[=+@]|-[^-\s])"


def known_units(seeds_dir: object) -> list[str]:
    """Every unit GACC uses, by its English and its Chinese name: seeds/quantity_units.csv
    (GACC's whole list, with the English the marts show)."""
    units = seeds.read_seed(seeds_dir, "quantity_units")  # type: ignore[arg-type]
    return [*units["quantity_unit_en"].to_list(), *units["quantity_unit_zh"].to_list()]


def check_release_text(frame: pl.DataFrame, source_name: str, units: list[str]) -> None:
    """Refuse the release at the first unit not in the seed, or name that reads as a formula;
    the error names the row, the column and the value."""
    check_source_name(source_name)
    for column, header in UNIT_COLUMNS.items():
        if column in frame.columns:
            _refuse_first(
                frame,
                column,
                ~pl.col(column).is_in(units),
                source_name,
                header,
                "a unit GACC uses (seeds/quantity_units.csv), e.g. Kilogram or 千克, or '-'",
            )
    for column, header in NAME_COLUMNS.items():
        if column in frame.columns:
            _refuse_first(
                frame,
                column,
                pl.col(column).str.contains(_FORMULA_NAME),
                source_name,
                header,
                "text, not a spreadsheet formula (no leading = + - @)",
            )


def _refuse_first(
    frame: pl.DataFrame, column: str, bad: pl.Expr, source_name: str, header: str, expected: str
) -> None:
    offending = frame.filter(pl.col(column).is_not_null() & bad).select("source_row", column)
    if offending.height:
        row, value = offending.row(0)
        more = f" ({offending.height} rows)" if offending.height > 1 else ""
        raise ReleaseError(
            source_name,
            f"{header} {value!r} is not accepted{more}",
            row=row,
            field=header,
            expected=expected,
        )


def check_source_name(source_name: str) -> None:
    """A file name reaches marts.trade_monthly_sources: none of its parts may read as a formula."""
    for part in PurePosixPath(source_name).parts:
        if part.startswith(FORMULA_STARTS):
            raise ReleaseError(
                source_name,
                f"the name {part!r} starts with {part[0]!r}, which a spreadsheet runs as a formula",
                field="file name",
                expected="a file or folder name that does not start with = + - @",
            )
