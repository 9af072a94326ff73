"""The embedded sample: reproducible, in both GACC dialects, and calibrated to published figures.

Files are read with the csv module on purpose: these tests check the sample itself, not the
product's parser.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
LANDING = SAMPLE_DIR / "landing"
GENERATOR = PROJECT_DIR / "scripts" / "generate_sample.py"
PRK = "109"
YEARS = ("2022", "2023", "2024", "2025")

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
    return [line for path in sample_files() for line in read_lines(path)]


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


def test_layout_and_size() -> None:
    files = sample_files()
    assert sum(p.stat().st_size for p in files) < 10_000_000
    periods = {f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)}
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
    for path in sample_files():
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
    assert {year: dialects[year] for year in YEARS} == {year: {"en", "zh"} for year in YEARS}


def test_prk_is_8_digit_with_regimes_others_2_or_4_digit(lines: list[Line]) -> None:
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
    assert len(expected) == 48 * 6 * 2


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
        if line.partner != PRK:
            continue
        banned = banned_imports if line.flow == "import" else banned_exports
        assert not line.hs.startswith(banned), line
