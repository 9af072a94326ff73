"""Build the analysts' seeds: quantity units (from scripts/seed_curation/quantity_units.csv).

Run from the repository root: `python scripts/build_hs_seeds.py` (or `make seeds`). Writes
seeds/*.csv, sorted by code, UTF-8 with LF line endings, as scripts/build_seeds.py does for
GACC's code lists; one clear line and exit code 1 when an input is not as expected.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
CURATION_DIR = PROJECT_DIR / "scripts" / "seed_curation"
UNIT_COLUMNS = ("quantity_unit_zh", "quantity_unit_en", "confirmed")


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
    """GACC's Chinese statistical units with the English the marts show. Only 'Kilogram' and
    'Number of item' are confirmed platform spellings (`confirmed`); the rest are renderings, so
    a figure from an English and a Chinese file of the same unit adds up."""
    rows = read_csv(CURATION_DIR / "quantity_units.csv", UNIT_COLUMNS)
    once_each((row["quantity_unit_zh"] for row in rows), "quantity_units.csv, Chinese unit")
    once_each((row["quantity_unit_en"] for row in rows), "quantity_units.csv, English unit")
    return sorted(tuple(row[c] for c in UNIT_COLUMNS) for row in rows)


def build(out: Path) -> dict[str, int]:
    return {"quantity_units": write_csv(out / "quantity_units.csv", UNIT_COLUMNS, build_units())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "seeds", help="seeds folder")
    args = parser.parse_args(argv)
    try:
        counts = build(args.out)
    except (SeedError, OSError) as error:
        print(f"build_hs_seeds: {error}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{name}.csv: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
