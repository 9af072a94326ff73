"""Build the committed seeds (seeds/*.csv) from GACC's code lists plus curated knowledge.

Inputs, read only when this script runs (never by the product at run time):

- GACC's code lists (``--shared``): COUNTRY.xls (partner code, Chinese name), TRADE_MOOD.xls
  (customs regime code, Chinese name) and CODE_TS.xls (8-digit commodity code, Chinese and
  English names).
- Curated CSVs in scripts/seed_curation/ (knowledge that the .xls files do not carry):
  partners.csv (ISO 3166-1 alpha-3, English name, kind), customs_regimes.csv (English names),
  hs_chapters.csv (HS chapter titles) and hs_headings.csv (HS heading / subheading texts).
  Where each comes from: see CURATION_DIR below and seeds/README.md.

Outputs (UTF-8, header row, LF line endings, sorted by code, byte-identical on every run):
seeds/partners.csv, seeds/customs_regimes.csv and seeds/commodities.csv.

    .venv/bin/python scripts/build_seeds.py --shared ../shared/reference/gacc [--out seeds]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import xlrd

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Curated knowledge, kept as small CSVs next to this script and written by hand:
# - partners.csv: ISO 3166-1 alpha-3 codes (ISO 3166 Maintenance Agency list; withdrawn codes
#   from ISO 3166-3 for former entities; user-assigned X.. codes where ISO has none), English
#   names as GACC's English query platform prints them where known (gacc_formats.md, the
#   platform's exports), else the usual short English name. Each row repeats the Chinese name
#   it was mapped from, so a renamed GACC row stops the build instead of shifting a mapping.
# - customs_regimes.csv: English names printed by the platform (gacc_formats.md), else a
#   translation of the Chinese name (column name_en_source says which).
# - hs_chapters.csv, hs_headings.csv: WCO Harmonized System nomenclature titles (HS 2017
#   wording, the edition CODE_TS.xls follows; short forms), Chinese titles from China's
#   customs tariff where known.
CURATION_DIR = Path(__file__).resolve().parent / "seed_curation"

PARTNER_COLUMNS = (
    "partner_code",
    "partner_iso3",
    "partner_name_en",
    "partner_name_zh",
    "partner_kind",
)
REGIME_COLUMNS = ("customs_regime_code", "customs_regime_name_en", "customs_regime_name_zh")
COMMODITY_COLUMNS = (
    "hs_code",
    "hs_level",
    "description_en",
    "description_zh",
    "description_source",
)

COUNTRY_HEADER = ("国别代码", "国别中文名")
TRADE_MOOD_HEADER = ("贸易方式代码", "贸易方式中文名")
CODE_TS_HEADER = ("商品代码", "商品代码中文名称", "商品代码英文名称")

PARTNER_KINDS = frozenset({"country", "territory", "other"})
ISO3 = re.compile(r"[A-Z]{3}")

SOURCE_CODE_TS = "gacc_code_ts"
SOURCE_CHAPTER = "hs_chapter_curated"
SOURCE_HEADING = "hs_heading_curated"
SOURCE_DERIVED = "derived_from_8digit"

# A derived 4/6-digit description lists its 8-digit children's names up to about this length.
DERIVED_MAX_CHARS = 240
DERIVED_SEPARATOR = {"en": "; ", "zh": "；"}


class SeedError(Exception):
    """The inputs disagree with each other or with what a seed promises."""


@dataclass(frozen=True)
class Commodity:
    hs_code: str
    description_en: str
    description_zh: str
    description_source: str

    @property
    def hs_level(self) -> int:
        return len(self.hs_code)

    def row(self) -> tuple[str, ...]:
        fields = (self.description_en, self.description_zh, self.description_source)
        return (self.hs_code, str(self.hs_level), *fields)


# --- Reading -------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Trim and collapse runs of whitespace (GACC's names carry stray padding)."""
    return " ".join(text.split())


def cell_text(cell: xlrd.sheet.Cell) -> str:
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return str(int(cell.value))  # a code stored as a number: its length check will catch it
    return clean(str(cell.value))


def read_xls(path: Path, header: Sequence[str]) -> list[tuple[str, ...]]:
    """Data rows of the first sheet, as text, after checking the header row."""
    if not path.is_file():
        raise SeedError(f"{path}: not found")
    sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    rows = [tuple(cell_text(cell) for cell in sheet.row(index)) for index in range(sheet.nrows)]
    if not rows or rows[0][: len(header)] != tuple(header):
        raise SeedError(f"{path.name}: expected header {header}, found {rows[:1]}")
    return [row[: len(header)] for row in rows[1:] if any(row)]


def read_curation(name: str) -> list[dict[str, str]]:
    with (CURATION_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [{key: clean(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def check_codes(codes: Iterable[str], length: int, what: str) -> None:
    counts = Counter(codes)
    bad = sorted(code for code in counts if len(code) != length or not code.isdigit())
    if bad:
        raise SeedError(f"{what}: codes that are not {length} digits: {bad[:10]}")
    repeated = sorted(code for code, count in counts.items() if count > 1)
    if repeated:
        raise SeedError(f"{what}: repeated codes: {repeated[:10]}")


def index_curation(
    name: str, key: str, length: int, expected: Iterable[str]
) -> dict[str, dict[str, str]]:
    """Curated rows by code; the curated codes must be exactly the expected ones."""
    rows, what = read_curation(name), f"seed_curation/{name}"
    check_codes((row[key] for row in rows), length, what)
    curated = {row[key]: row for row in rows}
    wanted = set(expected)
    missing, extra = sorted(wanted - curated.keys()), sorted(curated.keys() - wanted)
    if missing or extra:
        raise SeedError(f"{what}: not curated {missing[:10]}; curated but unknown {extra[:10]}")
    return curated


def check_same_name(code: str, listed: str, curated: str, what: str) -> None:
    """The curation was written against a Chinese name: it must still be GACC's name."""
    if listed != curated:
        raise SeedError(f"{what} {code}: GACC lists {listed!r}, curation was made for {curated!r}")


# --- Partners ------------------------------------------------------------------------------------


def build_partners(country_rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    check_codes((code for code, _ in country_rows), 3, "COUNTRY.xls")
    codes = [code for code, _ in country_rows]
    curated = index_curation("partners.csv", "partner_code", 3, codes)
    rows = []
    for code, name_zh in country_rows:
        entry = curated[code]
        check_same_name(code, name_zh, entry["partner_name_zh"], "partner")
        iso3, name_en, kind = entry["partner_iso3"], entry["partner_name_en"], entry["partner_kind"]
        rows.append((code, iso3, name_en, name_zh, kind))
    check_partner_rows(rows)
    return sorted(rows)


def check_partner_rows(rows: list[tuple[str, ...]]) -> None:
    iso3 = Counter(row[1] for row in rows)
    problems = [f"repeated iso3 {code}" for code, count in iso3.items() if count > 1]
    for code, iso, name_en, _, kind in rows:
        if not ISO3.fullmatch(iso):
            problems.append(f"{code}: iso3 {iso!r} is not three capital letters")
        if kind not in PARTNER_KINDS:
            problems.append(f"{code}: kind {kind!r} not in {sorted(PARTNER_KINDS)}")
        if kind == "other" and not iso.startswith("X"):
            problems.append(f"{code}: a non-country row needs a user-assigned X.. code")
        if not name_en:
            problems.append(f"{code}: no English name")
    if problems:
        raise SeedError("partners: " + "; ".join(problems))


# --- Customs regimes -----------------------------------------------------------------------------


def build_regimes(trade_mood_rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    check_codes((code for code, _ in trade_mood_rows), 2, "TRADE_MOOD.xls")
    codes = [code for code, _ in trade_mood_rows]
    curated = index_curation("customs_regimes.csv", "customs_regime_code", 2, codes)
    rows = []
    for code, name_zh in trade_mood_rows:
        entry = curated[code]
        check_same_name(code, name_zh, entry["customs_regime_name_zh"], "customs regime")
        if not entry["customs_regime_name_en"]:
            raise SeedError(f"customs regime {code}: no English name")
        rows.append((code, entry["customs_regime_name_en"], name_zh))
    return sorted(rows)


# --- Commodities ---------------------------------------------------------------------------------


def build_commodities(code_ts_rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    tariff_lines = eight_digit_lines(code_ts_rows)
    commodities = [
        *chapter_rows(tariff_lines),
        *heading_rows(tariff_lines),
        *tariff_lines,
    ]
    return [commodity.row() for commodity in sorted(commodities, key=lambda c: c.hs_code)]


def eight_digit_lines(code_ts_rows: list[tuple[str, ...]]) -> list[Commodity]:
    check_codes((code for code, *_ in code_ts_rows), 8, "CODE_TS.xls")
    lines = [Commodity(code, en, zh, SOURCE_CODE_TS) for code, zh, en in code_ts_rows]
    unnamed = [line.hs_code for line in lines if not line.description_en]
    if unnamed:
        raise SeedError(f"CODE_TS.xls: codes without an English name: {unnamed[:10]}")
    return lines


def chapter_rows(tariff_lines: list[Commodity]) -> list[Commodity]:
    """Every curated chapter (01-97 with 77 reserved, and China's national chapter 98)."""
    curated = read_curation("hs_chapters.csv")
    check_codes((row["hs_code"] for row in curated), 2, "seed_curation/hs_chapters.csv")
    known = {row["hs_code"] for row in curated}
    orphans = sorted({line.hs_code[:2] for line in tariff_lines} - known)
    if orphans:
        raise SeedError(f"hs_chapters.csv: chapters used by CODE_TS.xls but not curated: {orphans}")
    return [
        Commodity(row["hs_code"], row["description_en"], row["description_zh"], SOURCE_CHAPTER)
        for row in curated
    ]


def heading_rows(tariff_lines: list[Commodity]) -> list[Commodity]:
    """One row per 4- and 6-digit prefix of an 8-digit code: curated text, else derived."""
    children: dict[str, list[Commodity]] = defaultdict(list)
    for line in tariff_lines:
        for length in (4, 6):
            children[line.hs_code[:length]].append(line)
    curated = {row["hs_code"]: row for row in read_curation("hs_headings.csv")}
    unknown = sorted(curated.keys() - children.keys())
    if unknown:
        raise SeedError(f"hs_headings.csv: codes that prefix no 8-digit code: {unknown[:10]}")
    return [heading(code, children[code], curated.get(code)) for code in sorted(children)]


def heading(code: str, children: list[Commodity], curated: dict[str, str] | None) -> Commodity:
    """Both texts come from one source: a curated heading's Chinese text is curated or empty."""
    if curated is not None and curated["description_en"]:
        en, zh = curated["description_en"], curated["description_zh"]
        return Commodity(code, en, zh, SOURCE_HEADING)
    en = derive([child.description_en for child in children], DERIVED_SEPARATOR["en"])
    zh = derive([child.description_zh for child in children], DERIVED_SEPARATOR["zh"])
    return Commodity(code, en, zh, SOURCE_DERIVED)


def derive(texts: list[str], separator: str) -> str:
    """A single child's name, or the children's names listed (shortened with '...')."""
    names = list(dict.fromkeys(text for text in texts if text))
    listed: list[str] = []
    for name in names:
        if listed and len(separator.join([*listed, name])) > DERIVED_MAX_CHARS:
            return separator.join([*listed, "..."])
        listed.append(name)
    return separator.join(listed)


# --- Writing -------------------------------------------------------------------------------------


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


def build(shared: Path, out: Path) -> dict[str, list[tuple[str, ...]]]:
    seeds = {
        "partners": build_partners(read_xls(shared / "COUNTRY.xls", COUNTRY_HEADER)),
        "customs_regimes": build_regimes(read_xls(shared / "TRADE_MOOD.xls", TRADE_MOOD_HEADER)),
        "commodities": build_commodities(read_xls(shared / "CODE_TS.xls", CODE_TS_HEADER)),
    }
    columns = {
        "partners": PARTNER_COLUMNS,
        "customs_regimes": REGIME_COLUMNS,
        "commodities": COMMODITY_COLUMNS,
    }
    for name, rows in seeds.items():
        write_csv(out / f"{name}.csv", columns[name], rows)
    return seeds


def summary(seeds: dict[str, list[tuple[str, ...]]]) -> str:
    lines = [f"{name}.csv: {len(rows)} rows" for name, rows in seeds.items()]
    by_level_source = Counter((row[1], row[4]) for row in seeds["commodities"])
    lines += [
        f"  level {level}, {source}: {count}"
        for (level, source), count in sorted(by_level_source.items(), key=lambda i: int(i[0][0]))
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, required=True, help="folder with COUNTRY/TRADE_MOOD/CODE_TS.xls"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "seeds", help="seeds folder")
    args = parser.parse_args(argv)
    try:
        seeds = build(args.shared, args.out)
    except SeedError as error:
        print(f"build_seeds: {error}", file=sys.stderr)
        return 1
    print(summary(seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
