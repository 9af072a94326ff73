"""The embedded sample: reproducible, in both GACC dialects, and calibrated to published figures.

Detailed files are read with the csv module on purpose: these tests check the sample itself, not
the product's parser. The preliminary table pages are read with the product's parser, which is
what they are for.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from customs_etl.transform.preliminary_tables import parse_preliminary_table

PROJECT_DIR = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
LANDING = SAMPLE_DIR / "landing"
GENERATOR = PROJECT_DIR / "scripts" / "generate_sample.py"
PRK = "109"
YEARS = ("2022", "2023", "2024", "2025")
# The long series: China-DPRK only, chapter level, constructed and calibrated like the rest.
LONG_YEARS = tuple(str(year) for year in range(2013, 2022))
ALL_YEARS = LONG_YEARS + YEARS
VINTAGE = re.compile(r"\.published-(\d{4}-\d{2}-\d{2})")
# The one detailed download published twice (data/sample/README.md): the first vintage is
# replaced by the second, which differs in one chapter.
EARLIER_VINTAGE = "import/2017-12/prk_hs2_constructed_en.published-2018-01-23.csv"
LATER_VINTAGE = "import/2017-12/prk_hs2_constructed_en.published-2018-09-30.csv"
DETAILED_FLOWS = ("export", "import")
PRELIMINARY = LANDING / "preliminary"
EXPECTED_PRELIMINARY = SAMPLE_DIR / "expected_preliminary.csv"
# Partner rows of the preliminary tables with detailed data in the sample, by GACC partner code.
PRELIM_PARTNER_CODES = {
    "Japan": "116",
    "Korea,Rep.": "133",
    "Russian Federation": "344",
    "United States": "502",
}
PRELIM_LABELS = {"Total", "ASEAN", "European Union", *PRELIM_PARTNER_CODES}
# One unit of the last printed digit: 0.1 USD1 Million, 0.01 CNY 100 Million.
PRINTED_UNIT = {"USD": 100_000, "CNY": 1_000_000}
# The two deliberate preliminary-vs-detailed differences documented in data/sample/README.md:
# (page, partner, flow) -> preliminary_cells / detailed - 1, in per mille.
FIRST_JUNE = "preliminary/2025-06/prelim_202506_usd.published-2025-07-14.html"
REVISED_JUNE = "preliminary/2025-06/prelim_202506_usd.published-2025-08-08.html"
APRIL = "preliminary/2025-04/prelim_202504_usd.published-2025-05-09.html"
DELIBERATE = {
    (FIRST_JUNE, "United States", "export"): -8,
    (APRIL, "Korea,Rep.", "import"): 12,
}

EN_HEADER = (
    '"Date of data","Trading partner code","Trading partner","Commodity code","Commodity",'
    '"Customs Regime code","Customs Regime","Quantity","Unit","Supplimentary Quantity",'
    '"Supplimentary Unit","US dollar",'
)
EN_HEADER_NO_REGIME = EN_HEADER.replace('"Customs Regime code","Customs Regime",', "")
ZH_HEADER = (
    "数据年月,商品编码,商品名称,贸易伙伴编码,贸易伙伴名称,贸易方式编码,贸易方式名称,"
    "第一数量,第一计量单位,第二数量,第二计量单位,美元"
)
ZH_HEADER_NO_REGIME = ZH_HEADER.replace("贸易方式编码,贸易方式名称,", "")


@dataclass(frozen=True)
class Line:
    period: str  # YYYY-MM
    flow: str
    partner: str
    hs: str
    regime: str
    value: int


def sample_files(root: Path = LANDING) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def detailed_files(root: Path = LANDING) -> list[Path]:
    """The query-platform exports (landing/<flow>/...), not the preliminary table pages."""
    return [p for p in sample_files(root) if p.relative_to(root).parts[0] in ("export", "import")]


def latest_vintages(files: list[Path]) -> list[Path]:
    """Of the files of one download (same folder and name without its publication date), the
    latest published: what the marts add up."""
    latest: dict[Path, Path] = {}
    for path in files:
        slot = path.with_name(VINTAGE.sub("", path.name))
        known = latest.get(slot)
        if known is None or VINTAGE.search(path.name).group(1) > VINTAGE.search(known.name).group(
            1
        ):  # type: ignore[union-attr]
            latest[slot] = path
    return sorted(latest.values())


def decode(path: Path) -> tuple[str, str]:
    """(text, dialect): English files are UTF-8; Chinese files are GB18030 and not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8"), "en"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "zh"


def read_lines(path: Path) -> list[Line]:
    text, dialect = decode(path)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    names = [n for n in rows[0] if n] if dialect == "en" else rows[0]
    columns = {
        "en": ("Date of data", "Trading partner code", "Commodity code", "Customs Regime code"),
        "zh": ("数据年月", "贸易伙伴编码", "商品编码", "贸易方式编码"),
    }[dialect]
    index = {name: names.index(name) for name in columns if name in names}
    flow = path.parts[-3]  # <flow>/<YYYY-MM>/<name>.csv
    lines = []
    for row in rows[1:]:
        period, partner, hs = (row[index[c]] for c in columns[:3])
        regime = row[index[columns[3]]] if columns[3] in index else ""
        value = int(row[len(names) - 1].replace(",", ""))
        lines.append(Line(f"{period[:4]}-{period[4:]}", flow, partner, hs, regime, value))
    return lines


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return [line for path in latest_vintages(detailed_files()) for line in read_lines(path)]


def prk_sum(lines: list[Line], periods: str, flow: str = "total", hs: str = "") -> int:
    """Periods: "2023", "2023-05" or "2023-01/2023-05"."""
    if "/" in periods:
        start, end = periods.split("/")
    else:
        start, end = periods, periods + "~"
    return sum(
        line.value
        for line in lines
        if line.partner == PRK
        and start <= line.period <= end
        and (flow == "total" or line.flow == flow)
        and line.hs.startswith(hs)
    )


def test_regenerating_gives_byte_identical_files(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    committed = [p.relative_to(LANDING) for p in sample_files()]
    regenerated = [p.relative_to(out) for p in sample_files(out)]
    assert regenerated == committed
    for relative in committed:
        assert (out / relative).read_bytes() == (LANDING / relative).read_bytes(), relative
    expected = (SAMPLE_DIR / "expected_totals.csv").read_bytes()
    assert (tmp_path / "expected_totals.csv").read_bytes() == expected
    expected = EXPECTED_PRELIMINARY.read_bytes()
    assert (tmp_path / "expected_preliminary.csv").read_bytes() == expected


def test_layout_and_size() -> None:
    assert sum(p.stat().st_size for p in sample_files()) < 10_000_000
    files = detailed_files()
    # 2022-2025: 696 files; 2013-2021: one per month and flow, and one earlier vintage.
    assert len(files) == 696 + 108 * 2 + 1
    assert len(latest_vintages(files)) == len(files) - 1
    assert len(sample_files()) == len(files) + len(sample_files(PRELIMINARY))
    periods = {f"{y}-{m:02d}" for y in ALL_YEARS for m in range(1, 13)}
    for path in files:
        flow, period, name = path.relative_to(LANDING).parts
        assert flow in ("export", "import")
        assert period in periods
        assert name.endswith(".csv")
    assert {p.relative_to(LANDING).parts[:2] for p in files} == {
        (flow, period) for flow in ("export", "import") for period in periods
    }


def test_both_dialects_and_encodings_every_year() -> None:
    dialects: dict[str, set[str]] = defaultdict(set)
    for path in detailed_files():
        data = path.read_bytes()
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
        text, dialect = decode(path)
        first = text.split("\r\n", 1)[0]
        if dialect == "en":
            assert first in (EN_HEADER, EN_HEADER_NO_REGIME), path
            assert all(line.endswith('",') for line in text.split("\r\n")[:-1]), path
        else:
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            assert first in (ZH_HEADER, ZH_HEADER_NO_REGIME), path
        dialects[path.relative_to(LANDING).parts[1][:4]].add(dialect)
    assert {year: dialects[year] for year in ALL_YEARS} == {
        year: {"en", "zh"} for year in ALL_YEARS
    }


def test_the_long_series_is_prk_at_chapter_level_in_files_named_constructed(
    lines: list[Line],
) -> None:
    long = [line for line in lines if line.period[:4] in LONG_YEARS]
    assert {line.partner for line in long} == {PRK}
    assert all(len(line.hs) == 2 and not line.regime for line in long)
    names = {p.name for p in detailed_files() if p.relative_to(LANDING).parts[1][:4] in LONG_YEARS}
    assert {VINTAGE.sub("", name) for name in names} == {
        "prk_hs2_constructed_en.csv",
        "prk_hs2_constructed_zh.csv",
    }


def test_prk_is_8_digit_with_regimes_others_2_or_4_digit(lines: list[Line]) -> None:
    lines = [line for line in lines if line.period[:4] in YEARS]
    prk = [line for line in lines if line.partner == PRK]
    assert all(len(line.hs) == 8 and line.regime for line in prk)
    assert {line.regime for line in prk} == {"10", "12", "14", "15", "19"}
    others = [line for line in lines if line.partner != PRK]
    assert {line.partner for line in others} == {"116", "124", "133", "344", "502"}
    assert all(len(line.hs) in (2, 4) and not line.regime for line in others)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for line in prk:
        counts[line.period, line.flow] += 1
    assert len(counts) == 96
    assert min(counts.values()) >= 28
    assert max(counts.values()) <= 80


def test_expected_totals_match_the_files(lines: list[Line]) -> None:
    recomputed: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        entry = recomputed[line.period, line.partner, line.flow]
        entry[0] += line.value
        entry[1] += 1
    with (SAMPLE_DIR / "expected_totals.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["currency"] == "USD" for row in rows)
    expected = {
        (r["period"], r["partner_code"], r["flow"]): [int(r["value"]), int(r["rows"])] for r in rows
    }
    assert expected == dict(recomputed)
    assert len(expected) == 48 * 6 * 2 + 108 * 2  # 2022-2025 six partners; 2013-2021 the DPRK


def test_calibration_to_published_figures(lines: list[Line]) -> None:
    h1_2025 = prk_sum(lines, "2025-01/2025-06")
    h1_2024 = prk_sum(lines, "2024-01/2024-06")
    assert abs(h1_2025 / 1_260_000_000 - 1) <= 0.005
    assert 29.5 <= 100 * (h1_2025 / h1_2024 - 1) <= 30.5
    assert prk_sum(lines, "2022") == 1_027_720_000
    assert prk_sum(lines, "2023-04") == 199_420_000
    assert prk_sum(lines, "2023-04", "export") == 165_780_000
    assert prk_sum(lines, "2023-05") == 189_570_000
    assert prk_sum(lines, "2023-05", "export") == 165_630_000
    assert prk_sum(lines, "2023-05", "import") == 23_940_000
    assert prk_sum(lines, "2023-01/2023-05") == 874_180_000
    for year, flow, published in (
        ("2023", "total", 2_300_000_000),
        ("2023", "export", 2_000_000_000),
        ("2023", "import", 292_000_000),
        ("2024", "total", 2_180_000_000),
        ("2025", "total", 2_730_000_000),
    ):
        assert abs(prk_sum(lines, year, flow) / published - 1) <= 0.02, (year, flow)
    assert abs(prk_sum(lines, "2024-01/2024-07") / 1_110_000_000 - 1) <= 0.01
    assert abs(prk_sum(lines, "2024-01/2024-11") / 1_930_000_000 - 1) <= 0.01


def test_the_long_series_is_calibrated_to_the_yearly_figures(lines: list[Line]) -> None:
    assert prk_sum(lines, "2018", "import") == 213_150_000  # exact in the reference
    for year, flow, published in (
        ("2013", "total", 6_540_000_000),
        ("2014", "total", 6_390_000_000),
        ("2015", "total", 5_511_000_000),
        ("2017", "total", 5_060_000_000),
        ("2017", "import", 1_720_000_000),
        ("2018", "total", 2_430_000_000),
        ("2018", "export", 2_220_000_000),
        ("2019", "total", 2_800_000_000),
        ("2020", "total", 539_000_000),
        ("2021", "total", 318_000_000),
    ):
        assert abs(prk_sum(lines, year, flow) / published - 1) <= 0.02, (year, flow)
    years = {year: prk_sum(lines, year) for year in ALL_YEARS}
    assert max(years, key=years.__getitem__) == "2013"  # the peak
    assert min(years, key=years.__getitem__) == "2021"  # the low of the border closure


def test_the_long_series_follows_the_2017_measures(lines: list[Line]) -> None:
    def chapters(flow: str, start: str, end: str) -> set[str]:
        return {
            line.hs
            for line in lines
            if line.partner == PRK and line.flow == flow and start <= line.period <= end
        }

    metals_machinery = {str(chapter) for chapter in range(72, 90)}
    assert metals_machinery & chapters("export", "2013-01", "2017-12")
    assert not metals_machinery & chapters("export", "2018-01", "2021-12")
    assert {"03", "61", "62"} <= chapters("import", "2017-01", "2017-08")
    assert not {"03", "61", "62"} & chapters("import", "2017-10", "2021-12")


def test_one_download_has_an_earlier_vintage_differing_in_one_chapter() -> None:
    earlier = {line.hs: line.value for line in read_lines(LANDING / EARLIER_VINTAGE)}
    later = {line.hs: line.value for line in read_lines(LANDING / LATER_VINTAGE)}
    assert earlier.keys() == later.keys()
    assert {hs: later[hs] - earlier[hs] for hs in later if later[hs] != earlier[hs]} == {
        "67": 1_250_000
    }


def heading_totals(lines: list[Line], flow: str, year: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.partner == PRK and line.flow == flow and line.period.startswith(year):
            totals[line.hs[:4]] += line.value
    return totals


def test_lead_headings_of_the_news_reports(lines: list[Line]) -> None:
    imports = heading_totals(lines, "import", "2025")
    exports = heading_totals(lines, "export", "2025")
    assert max(imports, key=imports.__getitem__) == "6704"
    assert max(exports, key=exports.__getitem__) == "6703"
    assert 0.45 <= imports["6704"] / sum(imports.values()) <= 0.55
    assert abs(imports["6704"] / 190_550_000 - 1) <= 0.01
    assert abs(exports["6703"] / 208_200_000 - 1) <= 0.01


def test_no_goods_the_un_bans(lines: list[Line]) -> None:
    # From the DPRK: coal, iron, ores of lead/copper/nickel/zinc/silver, seafood, textiles,
    # food and farm products (07, 08, 12), earth and stone, wood, machinery, vessels, metals.
    textiles = tuple(str(chapter) for chapter in range(50, 64))
    metals = ("2601", "2701", "2603", "2604", "2607", "2608", "2616", "74", "75", "78", "79")
    banned_imports = ("03", "07", "08", "12", "25", "44", "84", "85", "89", *textiles, *metals)
    # To the DPRK: iron, steel and other metals (72-83), machinery and vehicles (84-89), oil.
    banned_exports = (*(str(chapter) for chapter in range(72, 90)), "2709", "2710")
    for line in lines:
        # In force from 2018 (resolution 2397): the long series shows the trade before it.
        if line.partner != PRK or line.period < "2018":
            continue
        banned = banned_imports if line.flow == "import" else banned_exports
        assert not line.hs.startswith(banned), line


# --- Preliminary table pages ---------------------------------------------------------


@dataclass(frozen=True)
class PreliminaryCell:
    file: str  # landing-relative path
    period: str  # folder month YYYY-MM
    months_covered: int
    label: str
    flow: str
    currency: str
    month: int | None
    ytd: int
    yoy: float
    published_on: str


@pytest.fixture(scope="module")
def preliminary_cells() -> list[PreliminaryCell]:
    with EXPECTED_PRELIMINARY.open(encoding="utf-8", newline="") as handle:
        return [
            PreliminaryCell(
                r["file"],
                r["period"],
                int(r["months_covered"]),
                r["partner_label"],
                r["flow"],
                r["currency"],
                int(r["value_month"]) if r["value_month"] else None,
                int(r["value_ytd"]),
                float(r["yoy_ytd_pct"]),
                r["published_on"],
            )
            for r in csv.DictReader(handle)
        ]


@pytest.fixture(scope="module")
def detailed() -> dict[tuple[str, str, str], int]:
    with (SAMPLE_DIR / "expected_totals.csv").open(encoding="utf-8", newline="") as handle:
        return {
            (r["period"], r["partner_code"], r["flow"]): int(r["value"])
            for r in csv.DictReader(handle)
        }


def test_preliminary_pages_layout_names_and_calendar(
    preliminary_cells: list[PreliminaryCell],
) -> None:
    pages = [p.relative_to(LANDING).as_posix() for p in sample_files(PRELIMINARY)]
    assert pages == sorted({row.file for row in preliminary_cells})
    assert len(pages) == 14
    periods = {row.period for row in preliminary_cells}
    assert periods == {"2025-02", *(f"2025-{m:02d}" for m in range(3, 13)), "2026-02"}
    for row in preliminary_cells:
        folder, name = row.file.split("/")[1:]
        stamp = row.period.replace("-", "")
        assert folder == row.period
        assert name == f"prelim_{stamp}_{row.currency.lower()}.published-{row.published_on}.html"
        year, month = int(row.period[:4]), int(row.period[5:])
        published = tuple(int(part) for part in row.published_on.split("-"))
        following = (year + month // 12, month % 12 + 1)
        assert row.months_covered == (2 if month == 2 else 1)
        if row.file == REVISED_JUNE:  # the revision came out later
            assert published == (2025, 8, 8)
        else:  # preliminary tables on the 7th-14th of the following month; Jan-Feb in March
            assert published[:2] == following and 7 <= published[2] <= 14, row.file
    assert {row.label for row in preliminary_cells} == PRELIM_LABELS  # never the DPRK
    assert {(row.file, row.currency) for row in preliminary_cells if row.currency == "CNY"} == {
        ("preliminary/2025-06/prelim_202506_cny.published-2025-07-14.html", "CNY")
    }


def test_every_preliminary_page_parses_to_the_expected_values(
    preliminary_cells: list[PreliminaryCell],
) -> None:
    by_file: dict[str, list[PreliminaryCell]] = defaultdict(list)
    for row in preliminary_cells:
        by_file[row.file].append(row)
    for file, rows in by_file.items():
        table = parse_preliminary_table((LANDING / file).read_bytes(), file)
        first = rows[0]
        year, month = int(first.period[:4]), int(first.period[5:])
        assert (table.period.year, table.period.month) == (year, month), file
        assert (table.months_covered, table.currency) == (first.months_covered, first.currency)
        assert (
            table.unit
            == {"USD": "Unit: USD1 Million", "CNY": "Unit: CNY 100 Million"}[first.currency]
        )
        parsed = [
            (r["partner_label"], r["flow"], r["value_month"], r["value_ytd"], r["yoy_ytd_pct"])
            for r in table.frame.iter_rows(named=True)
        ]
        assert parsed == [(r.label, r.flow, r.month, r.ytd, r.yoy) for r in rows], file


def test_preliminary_figures_are_internally_consistent(
    preliminary_cells: list[PreliminaryCell],
) -> None:
    """Total = export + import and Total > the listed rows (an unlisted rest), within
    rounding; a month never exceeds January-to-month; January-to-month never falls."""
    cells: dict[tuple[str, str, str], PreliminaryCell] = {
        (r.file, r.label, r.flow): r for r in preliminary_cells
    }
    for row in preliminary_cells:
        unit = PRINTED_UNIT[row.currency]
        assert row.ytd % unit == 0 and (row.month is None or row.month % unit == 0)
        if row.months_covered == 1:
            assert row.month is not None and 0 < row.month <= row.ytd
        else:
            assert row.month is None
        if row.flow == "total":
            for column in ("month", "ytd"):
                total = getattr(row, column)
                if total is None:
                    continue
                parts = [getattr(cells[row.file, row.label, f], column) for f in DETAILED_FLOWS]
                assert abs(total - sum(parts)) <= unit, row
    for file in {row.file for row in preliminary_cells}:
        for flow in ("total", *DETAILED_FLOWS):
            listed = sum(
                cells[file, label, flow].ytd for label in PRELIM_LABELS if label != "Total"
            )
            assert cells[file, "Total", flow].ytd > listed
    # The latest page of each month, in order: January-to-month grows within a year.
    latest: dict[str, str] = {}
    for row in sorted(preliminary_cells, key=lambda r: r.published_on):
        if row.currency == "USD":
            latest[row.period] = row.file
    for label in PRELIM_LABELS:
        for flow in ("total", *DETAILED_FLOWS):
            ytds = [cells[latest[p], label, flow].ytd for p in sorted(latest) if p < "2026"]
            assert ytds == sorted(ytds), (label, flow)


def test_preliminary_agrees_with_detailed_except_the_documented_cases(
    preliminary_cells: list[PreliminaryCell], detailed: dict[tuple[str, str, str], int]
) -> None:
    """Month and January-to-month values of the partners with detailed data are the detailed
    totals rounded to 0.1 USD million, except the two deliberate cases of the README."""

    def final(period: str, code: str, flow: str) -> int:
        flows = DETAILED_FLOWS if flow == "total" else (flow,)
        return sum(detailed[period, code, f] for f in flows)

    half = PRINTED_UNIT["USD"] // 2
    misses: dict[tuple[str, str, str], tuple[int, int]] = {}
    ytd_misses = set()
    for row in preliminary_cells:
        code = PRELIM_PARTNER_CODES.get(row.label)
        if row.currency != "USD" or code is None or row.period >= "2026":
            continue
        year, last = row.period[:4], int(row.period[5:])
        if row.month is not None:
            value = final(row.period, code, row.flow)
            if abs(row.month - value) > half:
                misses[row.file, row.label, row.flow] = (row.month, value)
        # January-to-month: the detailed months so far (the page's own month included).
        earlier = sum(final(f"{year}-{m:02d}", code, row.flow) for m in range(1, last + 1))
        if abs(row.ytd - earlier) > half:
            ytd_misses.add((row.file, row.label, row.flow))
    documented = {(file, label, flow) for file, label, flow in DELIBERATE}
    documented |= {(file, label, "total") for file, label, _ in DELIBERATE}
    assert set(misses) == documented
    assert ytd_misses == documented
    for key, per_mille in DELIBERATE.items():
        printed, value = misses[key]
        assert abs((printed / value - 1) * 1000 - per_mille) < 0.1, key
        assert abs(printed / value - 1) > 0.005  # beyond the product's cross-check tolerance


def test_the_revised_june_page_differs_in_one_partner_only(
    preliminary_cells: list[PreliminaryCell],
) -> None:
    first = {(r.label, r.flow): r for r in preliminary_cells if r.file == FIRST_JUNE}
    revised = {(r.label, r.flow): r for r in preliminary_cells if r.file == REVISED_JUNE}
    assert first.keys() == revised.keys()
    changed = {
        key
        for key in first
        if (first[key].month, first[key].ytd, first[key].yoy)
        != (revised[key].month, revised[key].ytd, revised[key].yoy)
    }
    assert {label for label, _ in changed} == {"United States"}
    assert ("United States", "export") in changed and ("United States", "import") not in changed
