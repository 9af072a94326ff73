"""Build the analysts' seeds: quantity units, HS editions, HS 2022 -> HS 2017 and HS -> BEC.

Run from the repository root: `python scripts/build_hs_seeds.py [--hs DIR]` (or `make seeds`).
Quantity units and the end use of BEC categories come from scripts/seed_curation/; the HS
correlation and BEC tables from UNSD's files (default ../shared/reference/hs, see its README):
HS2022toHS2017ConversionAndCorrelationTables.xlsx, HS2017_to_BEC4.csv, HS2022_to_BEC4.csv,
BEC4_DESC.xlsx. Writes seeds/*.csv, sorted by code, UTF-8 with LF line endings, as
scripts/build_seeds.py does for GACC's code lists; one clear line and exit code 1 when an input
is not as expected.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
CURATION_DIR = PROJECT_DIR / "scripts" / "seed_curation"
HS_DIR = PROJECT_DIR.parent / "shared" / "reference" / "hs"
UNIT_COLUMNS = ("quantity_unit_zh", "quantity_unit_en", "confirmed", "unit_code")
EDITION_COLUMNS = ("hs_edition", "first_period", "last_period", "note")
CORRELATION_COLUMNS = ("hs2022_code", "hs2017_code", "relationship", "conversion")
HS_BEC_COLUMNS = ("hs_edition", "hs6_code", "bec4_code", "relationship")
BEC_COLUMNS = ("bec4_code", "description", "parent_code", "level", "is_leaf", "end_use")
RELATIONSHIPS = {"1:1", "n:1", "1:n", "n:n"}
END_USES = {"capital", "intermediate", "consumption", "not_classified"}
# China's tariff follows the HS edition in force (WCO): HS 2012 in 2012-2016, HS 2017 in
# 2017-2021, HS 2022 from January 2022 (hs/README.md). No correlation table is kept for HS 2012.
EDITIONS = (
    ("HS2012", "2012-01", "2016-12", "China's tariff on HS 2012; no correlation table kept"),
    ("HS2017", "2017-01", "2021-12", "China's tariff on HS 2017 (GACC's CODE_TS.xls list)"),
    ("HS2022", "2022-01", "", "China's tariff on HS 2022 from January 2022"),
)
_HS6 = re.compile(r"^\d{6}$")


class SeedError(Exception):
    """An input is not as expected (the message says which and what was expected)."""


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ())[: len(columns)] != tuple(columns):
            raise SeedError(f"{path}: expected columns {list(columns)}, found {reader.fieldnames}")
        return [{key: (value or "").strip() for key, value in row.items()} for row in reader]


def once_each(keys: Iterable[str], what: str) -> None:
    twice = sorted(key for key, count in Counter(keys).items() if count > 1)
    if twice:
        raise SeedError(f"{what}: listed more than once: {', '.join(twice[:5])}")


def build_units() -> list[tuple[str, ...]]:
    """GACC's whole list of units of measurement (计量单位代码表), by code: the Chinese name, the
    English the marts show (and the release checks accept) and GACC's code. Only 'Kilogram' and
    'Number of item' are confirmed platform spellings (`confirmed`); the rest are renderings, so
    a figure from an English and a Chinese file of the same unit adds up."""
    rows = read_csv(CURATION_DIR / "quantity_units.csv", UNIT_COLUMNS)
    once_each((row["quantity_unit_zh"] for row in rows), "quantity_units.csv, Chinese unit")
    once_each((row["quantity_unit_en"] for row in rows), "quantity_units.csv, English unit")
    once_each((row["unit_code"] for row in rows), "quantity_units.csv, unit code")
    return sorted((tuple(row[c] for c in UNIT_COLUMNS) for row in rows), key=lambda r: r[3])


def read_sheet(path: Path, sheet: str) -> list[tuple[str, ...]]:
    """A sheet of an .xlsx as rows of text (fastexcel, which the product uses for exports)."""
    import fastexcel

    if not path.is_file():
        raise SeedError(f"{path}: not found (UNSD's tables, see ../shared/reference/hs/README.md)")
    reader = fastexcel.read_excel(str(path))
    if sheet not in reader.sheet_names:
        raise SeedError(f"{path}: expected a sheet {sheet!r}, found {reader.sheet_names}")
    frame = reader.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    return [tuple((cell or "").strip() for cell in row) for row in frame.iter_rows()]


def hs6(code: str, where: str) -> str:
    code = code.strip().zfill(6) if code.strip().isdigit() else code.strip()
    if not _HS6.match(code):
        raise SeedError(f"{where}: expected a 6-digit HS code, found {code!r}")
    return code


def build_correlation(hs_dir: Path) -> list[tuple[str, ...]]:
    """Every HS 2022 / HS 2017 pair with its relationship, and whether it is UNSD's conversion
    (the one HS 2017 code UNSD gives each HS 2022 code)."""
    path = hs_dir / "HS2022toHS2017ConversionAndCorrelationTables.xlsx"
    conversions = read_sheet(path, "HS2022-HS2017 Conversions")
    if conversions[0][:2] != ("From HS2022", "To HS2017"):
        raise SeedError(
            f"{path}: conversions: expected 'From HS2022, To HS2017', found {conversions[0]}"
        )
    chosen = {
        hs6(a, f"{path.name} conversions"): hs6(b, f"{path.name} conversions")
        for a, b, *_ in conversions[1:]
        if a
    }
    correlations = read_sheet(path, "HS2022-HS2017 Correlations")
    if correlations[1][:3] != ("HS2022", "HS2017", "Relationship"):
        raise SeedError(
            f"{path}: correlations: expected a second header line "
            f"'HS2022, HS2017, Relationship', found {correlations[1]}"
        )
    rows = []
    for a, b, relationship, *_ in correlations[2:]:
        if not a:
            continue
        if relationship not in RELATIONSHIPS:
            raise SeedError(
                f"{path.name}: {a}-{b}: relationship {relationship!r}, expected one of "
                f"{sorted(RELATIONSHIPS)}"
            )
        code_2022, code_2017 = hs6(a, path.name), hs6(b, path.name)
        conversion = "yes" if chosen.get(code_2022) == code_2017 else "no"
        rows.append((code_2022, code_2017, relationship, conversion))
    once_each((f"{a}-{b}" for a, b, _, _ in rows), f"{path.name}, HS 2022 / HS 2017 pair")
    missing = sorted(set(chosen) - {a for a, *_ in rows})
    if missing:
        raise SeedError(f"{path.name}: conversions without a correlation row: {missing[:5]}")
    return sorted(rows)


def build_hs_bec(hs_dir: Path) -> list[tuple[str, ...]]:
    """HS 6-digit code -> BEC rev. 4 category, per HS edition; a code UNSD leaves without a
    category is kept with an empty one."""
    rows = []
    for edition, name in (("HS2017", "HS2017_to_BEC4.csv"), ("HS2022", "HS2022_to_BEC4.csv")):
        path = hs_dir / name
        if not path.is_file():
            raise SeedError(
                f"{path}: not found (UNSD's tables, see ../shared/reference/hs/README.md)"
            )
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
        if len(table[0]) < 3 or not table[0][0].startswith("HS"):
            raise SeedError(
                f"{path}: expected columns 'HS ..., BEC ..., Relationship', found {table[0]}"
            )
        for code, bec, relationship, *_ in table[1:]:
            if not code.strip():
                continue  # the HS 2022 file ends in empty rows
            if relationship and relationship not in RELATIONSHIPS:
                raise SeedError(f"{name}: {code}: relationship {relationship!r}")
            rows.append((edition, hs6(code, name), bec.strip(), relationship.strip()))
    once_each((f"{e} {c} {b}" for e, c, b, _ in rows), "HS -> BEC rows")
    return sorted(rows)


def build_bec(hs_dir: Path) -> list[tuple[str, ...]]:
    """BEC rev. 4 categories with their description, parent, level and end use (the SNA
    basic class of goods: capital, intermediate, consumption; curated)."""
    path = hs_dir / "BEC4_DESC.xlsx"
    reader_rows = read_sheet(path, _first_sheet(path))
    header = reader_rows[0]
    expected = ("pfCode", "cmdCode", "cmdDescE", "parentCmdCode", "aggrlevel", "isLeaf")
    if header[:6] != expected:
        raise SeedError(f"{path}: expected columns {list(expected)}, found {list(header)}")
    end_use = {
        r["bec4_code"]: r["end_use"]
        for r in read_csv(CURATION_DIR / "bec4_end_use.csv", ("bec4_code", "end_use", "note"))
    }
    bad = sorted(code for code, use in end_use.items() if use not in END_USES)
    if bad:
        raise SeedError(f"bec4_end_use.csv: end use not one of {sorted(END_USES)}: {bad}")
    rows = []
    for _, code, description, parent, level, leaf, *_ in reader_rows[1:]:
        if code == "TOTAL":
            continue
        rows.append(
            (
                code,
                description,
                "" if parent == "TOTAL" else parent,
                level,
                "yes" if leaf == "1" else "no",
                end_use.get(code, ""),
            )
        )
    missing = sorted(code for code, *_, leaf, use in rows if leaf == "yes" and not use)
    if missing:
        raise SeedError(f"bec4_end_use.csv: no end use for the leaf categories {missing}")
    return sorted(rows)


def _first_sheet(path: Path) -> str:
    import fastexcel

    if not path.is_file():
        raise SeedError(f"{path}: not found (UNSD's tables, see ../shared/reference/hs/README.md)")
    return fastexcel.read_excel(str(path)).sheet_names[0]


def build(out: Path, hs_dir: Path | None = None) -> dict[str, int]:
    """Write the seeds; the HS ones only when UNSD's folder is given."""
    counts = {"quantity_units": write_csv(out / "quantity_units.csv", UNIT_COLUMNS, build_units())}
    if hs_dir is None:
        return counts
    counts["hs_editions"] = write_csv(out / "hs_editions.csv", EDITION_COLUMNS, EDITIONS)
    counts["hs2022_hs2017"] = write_csv(
        out / "hs2022_hs2017.csv", CORRELATION_COLUMNS, build_correlation(hs_dir)
    )
    counts["hs_bec4"] = write_csv(out / "hs_bec4.csv", HS_BEC_COLUMNS, build_hs_bec(hs_dir))
    counts["bec4_categories"] = write_csv(
        out / "bec4_categories.csv", BEC_COLUMNS, build_bec(hs_dir)
    )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "seeds", help="seeds folder")
    parser.add_argument("--hs", type=Path, default=HS_DIR, help="UNSD's HS and BEC tables")
    args = parser.parse_args(argv)
    try:
        counts = build(args.out, args.hs)
    except (SeedError, OSError) as error:
        print(f"build_hs_seeds: {error}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{name}.csv: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
