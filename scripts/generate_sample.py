"""Generate the embedded sample: a CONSTRUCTED data set calibrated to published totals.

It is NOT official GACC data. It imitates the detailed exports of GACC's online query platform
(English UTF-8 and Chinese GB18030 dialects) for China's trade with North Korea (8-digit codes,
split by customs regime) and five other partners (4- and 2-digit codes), 2022-01 to 2025-12,
in US dollars. China-DPRK goes back to 2013-01 in a LONG SERIES of chapter-level (2-digit)
files named `prk_hs2_constructed_*.csv`, CONSTRUCTED like the rest, calibrated to the yearly
figures reported for 2013-2021 (the 2013 peak, the fall after the 2017 sanctions, the 2020
collapse). The China-DPRK monthly totals follow the figures news agencies reported from
GACC data (copied into PUBLISHED below with their sources); everything else is invented but
plausible. It also writes English preliminary table pages for 2025 and Jan-Feb 2026
(landing/preliminary/), read back with the product's parser before they are kept. The output
is byte-identical on every run: one `random.Random` per named stream.

    .venv/bin/python scripts/generate_sample.py [--out data/sample/landing]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from pathlib import Path

import gacc_csv  # scripts/, beside this file (on sys.path when run as a script)

from customs_etl.transform.preliminary_tables import parse_preliminary_table

PROJECT_DIR = Path(__file__).resolve().parents[1]
SEED = "customs-etl-sample-v1"
YEARS = (2022, 2023, 2024, 2025)
PERIODS = tuple(f"{year}-{month:02d}" for year in YEARS for month in range(1, 13))
FLOWS = ("export", "import")  # China's exports / China's imports
PRK = "109"

# --- Published figures (China-DPRK, USD) ------------------------------------------------------
# Copied from reference/china_dprk_published.csv (rows inside 2022-2025); nothing is read from
# outside the repository at run time. `exact` figures are met to the dollar.


@dataclass(frozen=True)
class Published:
    period: str  # "2023", "2023-04" or a cumulative range "2023-01/2023-05"
    flow: str  # "total", "export" or "import"
    hs_code: str  # "" for all goods, else a 4-digit heading
    value: int
    exact: bool
    source: str


def _pub(period: str, flow: str, value: int, exact: bool, source: str, hs: str = "") -> Published:
    return Published(period, flow, hs, value, exact, source)


KYODO_H1 = "Kyodo, July 2025: China-N. Korea trade rises 30% in 1st half of 2025 (about +30% YoY)"
REUTERS_HAIR = "Reuters via timeslive 2026-01"
PUBLISHED: tuple[Published, ...] = (
    _pub("2013", "total", 6_540_000_000, False, "KOTRA via Yonhap (nkeconwatch.com)"),
    _pub("2014", "total", 6_390_000_000, False, "KOTRA via Yonhap (nkeconwatch.com)"),
    _pub("2015", "total", 5_511_000_000, False, "GACC as reported (KOTRA gives 5.71B)"),
    _pub("2017", "total", 5_060_000_000, False, "GACC spokesman, Global Times 1084580"),
    _pub("2017", "import", 1_720_000_000, False, "GACC spokesman, Global Times 1084580"),
    _pub("2018", "total", 2_430_000_000, False, "Reuters idINKCN1PH0ML"),
    _pub("2018", "export", 2_220_000_000, False, "Reuters idINKCN1PH0ML"),
    _pub("2018", "import", 213_150_000, True, "Reuters idINKCN1PH0ML"),
    _pub("2019", "total", 2_800_000_000, False, "KBS World"),
    _pub("2020", "total", 539_000_000, False, "KBS World"),
    _pub("2021", "total", 318_000_000, False, "SCMP 3173601"),
    _pub("2022", "total", 1_027_720_000, True, "Kyodo via nippon.com"),
    _pub("2023", "total", 2_300_000_000, False, "Kyodo 2024-01 (+137% YoY)"),
    _pub("2023", "export", 2_000_000_000, False, "Kyodo 2024-01"),
    _pub("2023", "import", 292_000_000, False, "Kyodo 2024-01"),
    _pub("2024", "total", 2_180_000_000, False, "Kyodo (-5% YoY); Reuters gives 2.1B"),
    _pub("2025", "total", 2_730_000_000, False, "AFP 2026-01-20 (+25.4% YoY)"),
    _pub("2023-01", "total", 206_000_000, False, "bnnbreaking"),
    _pub("2023-02", "total", 121_000_000, False, "bnnbreaking"),
    _pub("2023-04", "total", 199_420_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-04", "export", 165_780_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-05", "total", 189_570_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-05", "export", 165_630_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-05", "import", 23_940_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-01/2023-05", "total", 874_180_000, True, "Yonhap AEN20230619004500325"),
    _pub("2023-06", "total", 184_200_000, False, "NK News 2023-08; CNA 3642226"),
    _pub("2023-06", "export", 154_700_000, False, "NK News 2023-08"),
    _pub("2023-07", "total", 181_600_000, False, "NK News; Business Recorder 40258834"),
    _pub("2023-07", "export", 156_600_000, False, "NK News"),
    _pub("2023-09", "export", 188_700_000, False, "CNA 3860801"),
    _pub("2024-01", "total", 190_000_000, False, "bnnbreaking"),
    _pub("2024-02", "total", 120_000_000, False, "bnnbreaking"),
    _pub("2024-05", "total", 181_000_000, False, "NK News 2024-08"),
    _pub("2024-06", "total", 179_000_000, False, "NK News 2024-08"),
    _pub("2024-07", "total", 145_000_000, False, "NK News 2024-08"),
    _pub("2024-01/2024-07", "total", 1_110_000_000, False, "TASS via pledgetimes"),
    _pub("2024-01/2024-07", "export", 914_000_000, False, "TASS via pledgetimes"),
    _pub("2024-01/2024-07", "import", 198_000_000, False, "TASS via pledgetimes"),
    _pub("2024-09", "total", 202_000_000, False, "europesays 1621224 (year inferred)"),
    _pub("2024-10", "total", 218_800_000, False, "europesays 1621224 (year inferred)"),
    _pub("2024-01/2024-11", "total", 1_930_000_000, False, "Kyodo (Jan-Nov cumulative)"),
    _pub("2024-12", "import", 37_600_000, False, "Reuters via timeslive"),
    _pub("2025-01/2025-06", "total", 1_260_000_000, False, KYODO_H1),
    _pub("2025-03", "total", 238_200_000, False, "NK News 2025-06 (another story: 238.1M)"),
    _pub("2025-04", "total", 222_100_000, False, "NK News"),
    _pub("2025-05", "total", 230_000_000, False, "NK News (+26.8% YoY)"),
    _pub("2025-08", "export", 147_600_000, False, "CNA 5359511"),
    _pub("2025-09", "total", 271_000_000, False, "econotimes; JoongAng Daily 2025-12-19"),
    _pub("2025-09", "export", 228_100_000, False, "econotimes"),
    _pub("2025-10", "total", 227_000_000, False, "JoongAng Daily"),
    _pub("2025-11", "total", 281_000_000, False, "AFP"),
    _pub("2025-11", "export", 243_600_000, False, "AFP (derived)"),
    _pub("2025-11", "import", 37_100_000, False, "AFP"),
    _pub("2025-12", "export", 257_400_000, False, "Reuters via timeslive; AFP"),
    _pub("2025-12", "import", 52_700_000, False, "Reuters via timeslive; AFP"),
    _pub("2025", "import", 190_550_000, False, REUTERS_HAIR + ": wigs/eyelashes +5.7%", "6704"),
    _pub("2025", "export", 208_200_000, False, REUTERS_HAIR + ": processed hair +23.3%", "6703"),
)
H1_YOY_PCT = 30.0  # Kyodo, July 2025: "about 30%"
# Allowed distance of an approximate figure: rounded monthly and cumulative figures are met
# within 0.5% (1% for the rounded Jan-Jul split), yearly ones within 2%.
TOLERANCE_PCT = {"month": 0.5, "range": 1.0, "year": 2.0}

# --- China-DPRK monthly targets ---------------------------------------------------------------
# (period, total, China's imports) in USD; exports = total - imports. Published months use the
# published figures; other months are chosen (2022 low after the border reopened in January and
# closed again from late April to September; Feb low; exports 85-90% of the trade).
M = 1_000_000
PRK_TARGETS: tuple[tuple[str, int, int], ...] = (
    ("2022-01", 56 * M, 6_200_000),
    ("2022-02", 47 * M, 5_000_000),
    ("2022-03", 108 * M, 11_500_000),
    ("2022-04", 99 * M, 10_800_000),
    ("2022-05", 52 * M, 5_400_000),
    ("2022-06", 45 * M, 4_600_000),
    ("2022-07", 58 * M, 6_000_000),
    ("2022-08", 71 * M, 7_500_000),
    ("2022-09", 86 * M, 9_800_000),
    ("2022-10", 120 * M, 13_000_000),
    ("2022-11", 132 * M, 15_200_000),
    ("2022-12", 153_720_000, 17_400_000),  # balances the exact 2022 year total
    ("2023-01", 206 * M, 21 * M),
    ("2023-02", 121 * M, 13 * M),
    ("2023-03", 158_190_000, 19 * M),  # balances the exact Jan-May 2023 cumulative
    ("2023-04", 199_420_000, 33_640_000),
    ("2023-05", 189_570_000, 23_940_000),
    ("2023-06", 184_200_000, 29_500_000),
    ("2023-07", 181_600_000, 25 * M),
    ("2023-08", 200 * M, 24 * M),
    ("2023-09", 215_700_000, 27 * M),
    ("2023-10", 213 * M, 25 * M),
    ("2023-11", 212 * M, 24 * M),
    ("2023-12", 219_320_000, 26_920_000),
    ("2024-01", 190 * M, 29 * M),
    ("2024-02", 120 * M, 16_500_000),
    ("2024-03", 152 * M, 27 * M),
    ("2024-04", 147 * M, 31 * M),
    ("2024-05", 181 * M, 30_500_000),
    ("2024-06", 179 * M, 32 * M),
    ("2024-07", 145 * M, 32_500_000),
    ("2024-08", 188 * M, 27 * M),
    ("2024-09", 202 * M, 28_500_000),
    ("2024-10", 218_800_000, 30 * M),
    ("2024-11", 207_200_000, 29 * M),
    ("2024-12", 250 * M, 37_600_000),
    ("2025-01", 205 * M, 27 * M),
    ("2025-02", 130 * M, 17_500_000),
    ("2025-03", 238_200_000, 32 * M),
    ("2025-04", 222_100_000, 33_500_000),
    ("2025-05", 230 * M, 34 * M),
    ("2025-06", 234_700_000, 35 * M),
    ("2025-07", 205_600_000, 31 * M),
    ("2025-08", 175_600_000, 28 * M),
    ("2025-09", 271 * M, 42_900_000),
    ("2025-10", 227 * M, 36 * M),
    ("2025-11", 280_700_000, 37_100_000),
    ("2025-12", 310_100_000, 52_700_000),
)
PINNED = ("2023-04", "2023-05")  # exact published months: no jitter
# (balancing month, months of the sum, exact sum): the balancing month absorbs the jitter.
BALANCES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("2022-12", PERIODS[0:12], 1_027_720_000),
    ("2023-03", PERIODS[12:17], 874_180_000),
)
# Yearly value of the lead heading per flow. 2025 is published; 2024 is derived from the
# reported YoY (+5.7% wigs, +23.3% hair); 2022-2023 are chosen (about 45-48% / 7.5-8%).
ANCHORS: dict[tuple[str, str], dict[int, int]] = {
    ("import", "6704"): {2022: 50_400_000, 2023: 140_100_000, 2024: 180_270_000, 2025: 190_550_000},
    ("export", "6703"): {2022: 72_500_000, 2023: 150_600_000, 2024: 168_860_000, 2025: 208_200_000},
}

# --- The long series, 2013-2021 (CONSTRUCTED) -------------------------------------------------
# China-DPRK only, one file per month and flow at chapter (2-digit) level, no regimes and no
# quantities (a 2-digit query has none). Yearly totals follow the reported figures (2016 has
# none in the reference file: chosen between 2015 and 2017); imports and the months are chosen.
# The chapters follow the sanctions: coal (27) bought until February 2017, seafood (03) until
# August 2017, textiles (61, 62) until September 2017, and no machinery, vehicles or metals
# (72-89) sold from 2018 (resolution 2397, December 2017); the 2020 border closure empties
# the months from March 2020 to the spring of 2021.
LONG_YEARS = tuple(range(2013, 2022))
LONG_PERIODS = tuple(f"{year}-{month:02d}" for year in LONG_YEARS for month in range(1, 13))
ALL_PERIODS = LONG_PERIODS + PERIODS
# year -> (total, China's imports), USD; exports = total - imports.
LONG_TARGETS: dict[int, tuple[int, int]] = {
    2013: (6_540_000_000, 2_910_000_000),
    2014: (6_390_000_000, 2_840_000_000),
    2015: (5_511_000_000, 2_480_000_000),
    2016: (5_370_000_000, 2_630_000_000),  # chosen: no figure in the reference file
    2017: (5_060_000_000, 1_720_000_000),
    2018: (2_433_150_000, 213_150_000),  # exports 2.22B + the exact imports
    2019: (2_800_000_000, 215_000_000),
    2020: (539_000_000, 48_000_000),
    2021: (318_000_000, 58_000_000),
}
LONG_EXACT_IMPORTS = (2018,)
# Month weights per year (both flows); other years follow SEASON. 2017: imports fall as the
# bans take effect. 2020-2021: the border closed from February 2020.
LONG_MONTHS: dict[tuple[int, str], tuple[float, ...]] = {
    (2017, "import"): (1.9, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.4, 0.35, 0.35),
    (2020, "export"): (160, 40, 19, 24, 63, 97, 73, 25, 20, 0.3, 0.2, 1.5),
    (2020, "import"): (160, 40, 19, 24, 63, 97, 73, 25, 20, 0.3, 0.2, 1.5),
    (2021, "export"): (0.05, 0.02, 0.5, 29, 0.4, 14, 3, 2, 5, 18, 42, 65),
    (2021, "import"): (0.05, 0.02, 0.5, 29, 0.4, 14, 3, 2, 5, 18, 42, 65),
}
# Chapter weights "chapter:weight ..." per flow, before and after the 2017 measures.
LONG_CHAPTERS: dict[tuple[str, str], str] = {
    ("import", "before"): (
        "27:38 26:12 61:14 62:12 03:5 72:3 28:2 67:2 25:2 79:1.5 44:1 85:2 68:1 12:1 91:1"
    ),
    ("import", "after"): (
        "67:40 27:10 26:14 72:10 91:7 64:5 28:5 68:1 42:1 96:1 95:1 21:1 94:1 39:1"
    ),
    ("export", "before"): (
        "27:16 84:10 85:9 87:8 39:6 72:4 73:3 52:4 54:3 60:3 62:2 61:2 10:3 15:3 11:2 17:2 "
        "31:2 40:3 94:3 67:2 30:1.5 64:1.5 48:1.5 19:1 21:1 38:1 70:1 69:1 96:1 33:1"
    ),
    ("export", "after"): (
        "67:12 39:12 10:8 15:8 11:6 17:5 31:6 94:6 54:4 52:3 60:4 40:4 30:4 64:3 19:3 21:3 "
        "48:2 33:2 34:1.5 96:1.5 70:1 69:1 38:1.5 22:1 27:1"
    ),
}
# Imports the 2017 measures ended: (chapter, last month bought). Coal: China stopped on
# 2017-02-19 (resolution 2321's cap); seafood: resolution 2371 (August 2017); textiles: 2375
# (September 2017).
LONG_BANNED_FROM_2017: dict[str, int] = {"27": 2, "03": 8, "61": 9, "62": 9}
# A revised vintage: this month and flow's file is first published with the preliminary
# figures below (one chapter off), then again with the final ones after the yearbook.
LONG_REVISION = ("2017-12", "import", "67", -1_250_000, "2018-01-23", "2018-09-30")


def long_month_values(year: int, flow: str, amount: int) -> dict[str, int]:
    """The year's value of a flow spread over its months, exactly."""
    rng = stream("long-months", year, flow)
    profile = LONG_MONTHS.get((year, flow), SEASON)
    weights = [w * rng.uniform(0.93, 1.07) for w in profile]
    months = [f"{year}-{month:02d}" for month in range(1, 13)]
    return dict(zip(months, apportion(amount, weights), strict=True))


def long_targets() -> dict[tuple[str, str], int]:
    """(period, flow) -> China-DPRK value of the long series."""
    rng = stream("long-targets")
    targets: dict[tuple[str, str], int] = {}
    for year, (total, imported) in LONG_TARGETS.items():
        total = jitter(rng, total)
        imported = imported if year in LONG_EXACT_IMPORTS else jitter(rng, imported)
        for flow, amount in (("export", total - imported), ("import", imported)):
            for period, value in long_month_values(year, flow, amount).items():
                targets[period, flow] = value
    return targets


def long_chapters(flow: str, period: str) -> list[tuple[str, float]]:
    """The chapters traded in a month, with their weights."""
    year, month = int(period[:4]), int(period[5:])
    era = "before" if year <= 2017 else "after"
    chapters = []
    for item in LONG_CHAPTERS[flow, era].split():
        chapter, weight = item.split(":")
        last = LONG_BANNED_FROM_2017.get(chapter) if flow == "import" else None
        if year == 2017 and last is not None and month > last:
            if chapter != "27":
                continue
            weight = "1"  # electricity (2716) is chapter 27 too: bought on after the coal ban
        chapters.append((chapter, float(weight)))
    return chapters


def long_rows(period: str, flow: str, total: int) -> list[Row]:
    rng = stream("long-lines", period, flow)
    chapters = long_chapters(flow, period)
    weights = [weight * rng.uniform(0.8, 1.2) for _, weight in chapters]
    values = apportion(total, weights)
    return [
        Row(period, PRK, chapter, "", 0, "", 0, "", value)
        for (chapter, _), value in zip(chapters, values, strict=True)
        if value > 0
    ]


def long_files(targets: dict[tuple[str, str], int]) -> list[OutFile]:
    """One chapter-level file per month and flow, English and Chinese in turn; the revised
    month twice (the first vintage superseded)."""
    files = []
    for flow in FLOWS:
        for index, period in enumerate(LONG_PERIODS):
            rows = tuple(long_rows(period, flow, targets[period, flow]))
            english = (index + FLOWS.index(flow)) % 2 == 0
            name = f"prk_hs2_constructed_{'en' if english else 'zh'}"
            month, revised_flow, chapter, change, first, final = LONG_REVISION
            if (period, flow) != (month, revised_flow):
                files.append(OutFile(flow, period, f"{name}.csv", rows, english, False))
                continue
            earlier = tuple(row if row.hs != chapter else _revalued(row, change) for row in rows)
            first_file, final_file = (f"{name}.published-{day}.csv" for day in (first, final))
            files.append(OutFile(flow, period, first_file, earlier, english, False, True))
            files.append(OutFile(flow, period, final_file, rows, english, False))
    return files


def _revalued(row: Row, change: int) -> Row:
    return Row(row.period, row.partner, row.hs, row.regime, 0, "", 0, "", row.value + change)


# --- China-DPRK lines ---------------------------------------------------------------------------
# (8-digit code, "regime:weight ...", unit, USD per unit, second unit, second per first unit,
#  presence probability). Weights are shares within the flow (or within the lead heading).


@dataclass(frozen=True)
class Spec:
    hs: str
    regimes: str
    unit: str
    price: float
    unit2: str = ""
    per2: float = 0.0
    presence: float = 1.0


S = Spec
PRK_SPECS: dict[str, tuple[Spec, ...]] = {
    "export": (
        S("67030000", "14:55 15:35 10:10", "千克", 55),
        S("39011000", "10:3.0 19:1.0", "千克", 1.25),
        S("39021000", "10:3.0 19:0.8", "千克", 1.15),
        S("39041090", "10:1.8", "千克", 0.95, presence=0.9),
        S("39201090", "10:2.0 19:0.6", "千克", 2.0),
        S("39202090", "10:1.2", "千克", 2.1, presence=0.9),
        S("39232100", "10:1.5 19:0.5", "千克", 2.2),
        S("39239000", "10:0.8", "千克", 2.6, presence=0.8),
        S("39269090", "10:1.8 19:0.4", "千克", 3.2),
        S("39172100", "10:0.9", "千克", 1.8, presence=0.8),
        S("39241000", "10:0.6", "千克", 2.4, presence=0.8),
        S("94016190", "10:1.5 19:0.5", "个", 28, "千克", 9),
        S("94017900", "10:1.0", "个", 12, "千克", 5, presence=0.9),
        S("94036099", "10:2.4 19:0.6", "件", 40, "千克", 22),
        S("94032000", "10:1.2", "件", 30, "千克", 18, presence=0.9),
        S("94042900", "10:1.6", "件", 35, "千克", 12),
        S("94049040", "10:1.5 19:0.5", "千克", 4.2),
        S("10063090", "10:3.5 19:1.5", "千克", 0.62),
        S("10063090", "12:1.2", "千克", 0.60, presence=0.2),
        S("10063010", "10:1.2", "千克", 0.55, presence=0.8),
        S("31021000", "10:2.5", "千克", 0.42),
        S("31021000", "12:0.8", "千克", 0.40, presence=0.15),
        S("31052000", "10:2.0", "千克", 0.55),
        S("31052000", "12:0.6", "千克", 0.53, presence=0.15),
        S("15079000", "10:3.5 19:1.0", "千克", 1.35),
        S("17019990", "10:2.0 19:0.8", "千克", 0.72),
        S("17019910", "10:0.8", "千克", 0.70, presence=0.8),
        S("11010000", "10:3.0 19:1.2", "千克", 0.45),
        S("54075200", "10:1.8", "米", 1.1, "千克", 0.12),
        S("54076100", "10:0.8", "米", 1.0, "千克", 0.11, presence=0.8),
        S("60053700", "10:1.5", "千克", 3.6, "米", 3.5),
        S("52093200", "10:0.8", "米", 1.6, "千克", 0.25, presence=0.8),
        S("40112000", "10:1.6", "条", 125, "千克", 48),
        S("40111000", "10:0.9", "条", 38, "千克", 9, presence=0.9),
        S("30049090", "10:1.6", "千克", 14),
        S("30042090", "10:0.5", "千克", 22, presence=0.8),
        S("30049059", "10:0.4", "千克", 18, presence=0.7),
        S("19023030", "10:0.8 19:0.4", "千克", 1.3),
        S("19053100", "10:0.6", "千克", 2.1, presence=0.8),
        S("21069090", "10:1.2 19:0.3", "千克", 3.0),
        S("22029900", "10:0.4", "升", 0.55, "千克", 1.0, presence=0.7),
        S("21039010", "10:0.7", "千克", 1.3, presence=0.9),
        S("34011990", "10:0.5", "千克", 1.1, presence=0.8),
        S("33049900", "10:0.7", "千克", 9, presence=0.8),
        S("33061010", "10:0.3", "千克", 2.6, presence=0.7),
        S("48181000", "10:0.8", "千克", 1.3, presence=0.9),
        S("48191000", "10:0.5", "千克", 1.1, presence=0.8),
        S("48025700", "10:0.6", "千克", 0.95, presence=0.8),
        S("64029929", "10:0.6", "双", 2.5, "千克", 0.5, presence=0.8),
        S("64041990", "10:0.5", "双", 4.5, "千克", 0.6, presence=0.7),
        S("96190011", "10:0.6", "千克", 2.6, presence=0.8),
        S("96190020", "10:0.4", "千克", 2.9, presence=0.7),
        S("94054090", "10:0.4", "个", 3.5, "千克", 0.6, presence=0.7),
        S("70109020", "10:0.3", "千克", 0.6, presence=0.6),
        S("69072190", "10:0.5", "千克", 0.25, "平方米", 0.05, presence=0.7),
        S("25232900", "10:0.6 19:0.2", "千克", 0.06, presence=0.8),
        S("32089090", "10:0.4", "千克", 2.8, presence=0.7),
        S("15121900", "10:0.7", "千克", 1.15, presence=0.8),
        S("15119090", "10:0.6", "千克", 1.0, presence=0.8),
        S("38089319", "10:0.5", "千克", 3.5, presence=0.7),
        S("38089190", "10:0.3", "千克", 4.5, presence=0.6),
        S("04022100", "10:0.4", "千克", 3.8, presence=0.6),
        S("95030089", "10:0.2", "千克", 4.0, presence=0.5),
        S("96062100", "15:0.3", "千克", 5.0, presence=0.7),
        S("24012010", "10:0.6", "千克", 5.5, presence=0.6),
    ),
    "import": (
        S("67041100", "14:18 15:8 10:4", "千克", 120),
        S("67041900", "14:26 15:10 10:4", "千克", 250),
        S("67042000", "14:14 15:6", "千克", 400),
        S("67049000", "14:6 10:4", "千克", 150),
        S("67030000", "10:6 14:4", "千克", 45),
        S("26139000", "10:10 19:4", "千克", 14),
        S("26131000", "10:2", "千克", 19, presence=0.6),
        S("26110000", "10:8 19:3", "千克", 12),
        S("72022100", "10:7", "千克", 1.45),
        S("72027000", "10:3", "千克", 32, presence=0.7),
        S("72028010", "10:2", "千克", 36, presence=0.6),
        S("27160000", "10:12", "千瓦时", 0.055),
        S("28046900", "10:5", "千克", 1.9),
        S("91081100", "14:4 15:1.5", "个", 2.8, "千克", 0.015),
        S("64061000", "14:3 15:1.5", "千克", 22),
        S("67029090", "14:1", "千克", 9, presence=0.5),
        S("21069090", "19:1.5", "千克", 3.0),
        S("68022300", "10:1", "千克", 0.5, presence=0.5),
        S("42022200", "14:1", "个", 6, "千克", 0.5, presence=0.5),
        S("42029200", "14:0.6", "千克", 12, presence=0.6),
        S("39269090", "14:1", "千克", 6, presence=0.7),
        S("94039000", "14:1", "千克", 3.5, presence=0.6),
        S("96031000", "14:0.8", "个", 0.9, "千克", 0.4, presence=0.6),
        S("95059000", "14:0.6", "千克", 4.5, presence=0.5),
        S("72022100", "19:1.5", "千克", 1.4, presence=0.7),
        S("28046900", "19:1", "千克", 1.85, presence=0.6),
    ),
}
SPRING_HEADINGS = ("3102", "3105")  # fertiliser: more in March-May
# CONSTRUCTED lines under a UN Security Council measure (for the sanctions lens): small exports
# of petroleum jelly and road bitumen, refined petroleum products in China's reading (codes
# 2712/2713) under the cap of resolution 2397 para 5 (500,000 barrels a year by all suppliers).
# Their value is taken OUT of the largest other line of the month (regime 10), so every monthly
# total and every calibrated figure stays as it was. (8-digit code, months, USD range, USD/kg.)
COVERED_EXPORTS: tuple[tuple[str, tuple[int, ...], tuple[int, int], float], ...] = (
    ("27121000", (1, 4, 7, 10), (25_000, 60_000), 1.2),
    ("27132000", (4, 5, 6, 7, 8, 9, 10), (150_000, 350_000), 0.45),
)
COVERED_FROM_YEAR = 2023
REGIMES: dict[str, tuple[str, str]] = {
    "10": ("Ordinary Trade", "一般贸易"),
    "12": ("Other Donation", "其他捐赠物资"),
    "14": ("Processing and Assembling", "来料加工装配贸易"),
    "15": ("Processing with Imported Materials", "进料加工贸易"),
    "19": ("Border Small-scale Trade", "边境小额贸易"),
}
# One query per group of regimes, as a person splits downloads: (file tag, regimes).
REGIME_FILES = (("r10", ("10",)), ("r14-15", ("14", "15")), ("r19", ("19",)), ("r12", ("12",)))

# --- Other partners ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    code: str
    tag: str
    level: int  # 4: one English file per partner; 2: Chinese files shared by partners
    exports_musd: tuple[int, int, int, int]  # average month in 2022..2025, USD million
    imports_musd: tuple[int, int, int, int]
    export_lines: str  # "code:weight[:unit:price[:unit2:per2]] ..."
    import_lines: str

    def monthly_musd(self, flow: str, year: int) -> int:
        levels = self.exports_musd if flow == "export" else self.imports_musd
        return levels[YEARS.index(year)]

    def lines(self, flow: str) -> str:
        return self.export_lines if flow == "export" else self.import_lines


USA_EXPORT = (
    "8471:9:台:350:千克:8 8517:8:台:160:千克:0.6 8507:5:个:20:千克:3 8504:3:千克:12 "
    "8528:2.5:台:120:千克:12 9503:4:千克:6 9403:3.5:件:45:千克:20 9401:3:个:40:千克:12 "
    "9405:2.5:千克:8 6110:2.2:件:8:千克:0.4 6204:2:件:9:千克:0.4 6402:1.8:双:6:千克:0.6 "
    "8516:2.2:台:25:千克:3 8544:1.8:千克:9 8708:2:千克:6 3926:2.2:千克:5 7326:1.6:千克:4 "
    "8415:1.4:台:220:千克:40 8509:1.2:台:30:千克:4 8443:1.6:台:90:千克:8 9506:1.5:千克:5 "
    "6307:1.2:千克:6 4202:1.4:个:8:千克:0.6 8536:1.3:千克:20 8473:2:千克:30 8481:1:千克:12 "
    "8418:1:台:200:千克:50 8501:1.1:台:30:千克:5 6302:1:千克:7 3924:1:千克:4"
)
USA_IMPORT = (
    "1201:9:千克:0.55 8802:5:架:50000000:千克:40000 8542:8:个:2.5:千克:0.001 2711:5:千克:0.6 "
    "2709:4:千克:0.55 8703:5:辆:60000:千克:2000 9018:4:千克:150 3004:3.5:千克:300 "
    "4703:2.5:千克:0.7 1005:2.5:千克:0.28 0203:1.5:千克:2.5 8486:4:台:2000000:千克:5000 "
    "9027:2.5:台:30000:千克:50 3901:2.5:千克:1.2 7404:2:千克:5 0207:1.2:千克:2.2 "
    "1001:1.2:千克:0.3 5201:1.5:千克:2.0 2701:1:千克:0.15 8411:2.5:台:1000000:千克:1500 "
    "3002:2:千克:2000 8481:1.5:千克:40 9031:1.5:台:10000:千克:100 8471:1.5:台:1500:千克:10 "
    "3907:1.2:千克:2.5 2902:1:千克:1.0 3824:1.2:千克:4"
)
JPN_EXPORT = (
    "8471:9:台:300:千克:7 8517:7:台:150:千克:0.6 8504:3:千克:12 6110:2.5:件:9:千克:0.4 "
    "6204:2.2:件:10:千克:0.4 9403:2:件:40:千克:18 8516:1.8:台:25:千克:3 6402:1.2:双:6:千克:0.6 "
    "8544:2.5:千克:10 8708:3:千克:6 3926:2:千克:5 8473:2.5:千克:30 8536:2.5:千克:20 "
    "8541:3:千克:40 2933:1.5:千克:10 0304:1.2:千克:5 0703:0.8:千克:0.6 6302:1:千克:7 "
    "9503:1.5:千克:6 8528:1.5:台:120:千克:12 4202:1:个:8:千克:0.6 8415:1.2:台:200:千克:40 "
    "8501:2:台:30:千克:5 7326:1.5:千克:4 3924:1:千克:4 6403:0.8:双:15:千克:0.8 "
    "1604:0.8:千克:6 6115:0.7:双:1.2:千克:0.05"
)
JPN_IMPORT = (
    "8486:9:台:1500000:千克:4000 8542:10:个:1.5:千克:0.001 8703:5:辆:40000:千克:1600 "
    "8708:5:千克:12 3824:2.5:千克:8 9001:2.5:千克:50 8541:3:千克:60 8536:3:千克:40 "
    "3920:2.5:千克:8 7208:1.5:千克:0.9 8479:3:台:80000:千克:500 8466:1.8:千克:35 "
    "9031:2.2:台:20000:千克:80 3004:1.5:千克:200 3304:3:千克:40 8413:1.5:台:3000:千克:40 "
    "8481:2:千克:45 7219:1.2:千克:3 3907:1.2:千克:3 9018:1.5:千克:120 8532:2.5:千克:100 "
    "8483:1.5:千克:25 8504:1.5:千克:30 3707:1:千克:20 8443:1.2:台:3000:千克:60 2902:1:千克:1.1"
)
RUS_EXPORT = (
    "8703:14:辆:18000:千克:1500 8704:4:辆:30000:千克:4000 8429:3:台:90000:千克:15000 "
    "8471:4:台:300:千克:8 8517:5:台:120:千克:0.6 8708:3:千克:5 8701:2:台:20000:千克:3000 "
    "8481:1.5:千克:10 6402:1.5:双:5:千克:0.6 8415:1.2:台:200:千克:40 8528:1.2:台:110:千克:12 "
    "6110:1.5:件:7:千克:0.4 6204:1.2:件:8:千克:0.4 9403:1.5:件:35:千克:18 "
    "4011:2:条:60:千克:12 8501:1.5:台:30:千克:5 8516:1.2:台:25:千克:3 3926:1.5:千克:4 "
    "8544:1.2:千克:8 7308:1.5:千克:2 8426:1.2:台:150000:千克:30000 "
    "8427:1.2:台:25000:千克:3000 8431:1.5:千克:4 0805:0.8:千克:1.0 0703:0.6:千克:1.0 "
    "7326:1:千克:3"
)
RUS_IMPORT = (
    "2709:52:千克:0.55 2711:9:千克:0.5 2701:6:千克:0.12 7403:4:千克:8.5 2710:4:千克:0.7 "
    "4403:2:千克:0.12 0303:1.5:千克:2.5 2603:2.5:千克:2.5 7601:2:千克:2.3 4407:1.5:千克:0.3 "
    "1514:0.8:千克:1.1 4703:1.2:千克:0.6 3104:0.8:千克:0.35 3105:0.6:千克:0.45 "
    "2601:0.6:千克:0.12 7502:0.5:千克:17 1512:0.5:千克:1.1 0304:0.7:千克:4.5 "
    "2901:0.8:千克:0.8 3901:0.6:千克:1.1 2902:0.4:千克:0.9 2804:0.3:千克:2.0"
)
KOR_EXPORT = (
    "85:35 84:14 72:6 39:4 29:5 90:2.5 61:2 62:2 94:1.5 28:3 87:2 73:2 27:3 76:2 74:1.5 "
    "03:1 07:1 81:1.5 38:2.5 40:1 95:1 64:0.7 44:0.5 48:0.8 68:0.6 70:0.8 83:0.6 25:0.5"
)
KOR_IMPORT = (
    "85:52 84:8 90:6 27:5 29:5 39:5 38:2.5 87:2 33:2 72:1.5 74:1 71:1 30:1 28:1 40:0.7 "
    "73:0.6 76:0.6 37:0.5 32:0.7 48:0.4 81:0.5 26:0.2 21:0.3 55:0.3"
)
MNG_EXPORT = (
    "27:18 87:12 84:10 85:7 73:6 72:5 39:4 40:3 94:3 19:3 22:2 69:2 68:2 21:2 62:2 61:1.5 "
    "64:1.5 48:1.2 34:1.2 33:1 30:1.2 25:1 76:1 70:1 38:1 90:1 17:0.7 11:0.7 20:0.5 15:0.8"
)
MNG_IMPORT = (
    "26:48 27:35 51:3.5 41:0.8 02:1.2 05:0.3 28:0.5 72:0.6 74:0.5 25:0.3 15:0.2 12:0.3 "
    "16:0.2 43:0.2 61:0.2 04:0.2 23:0.1 08:0.1 44:0.1 39:0.1 47:0.1 73:0.1 81:0.4"
)
# Average month, USD million, 2022..2025 (export, then import): orders of magnitude of China's
# trade with each partner; invented, not published figures.
PARTNERS: tuple[Partner, ...] = (
    Partner(
        "502",
        "usa",
        4,
        (48100, 41700, 43700, 35800),
        (14800, 13700, 13700, 11200),
        USA_EXPORT,
        USA_IMPORT,
    ),
    Partner(
        "116",
        "jpn",
        4,
        (14300, 13100, 12700, 13200),
        (15300, 13400, 13100, 13000),
        JPN_EXPORT,
        JPN_IMPORT,
    ),
    Partner(
        "344",
        "rus",
        4,
        (6400, 9200, 9600, 8400),
        (9500, 10800, 10800, 9700),
        RUS_EXPORT,
        RUS_IMPORT,
    ),
    Partner(
        "133",
        "kor",
        2,
        (13500, 12400, 12300, 12800),
        (16600, 13600, 14700, 15300),
        KOR_EXPORT,
        KOR_IMPORT,
    ),
    Partner("124", "mng", 2, (300, 380, 420, 440), (780, 1050, 1120, 1000), MNG_EXPORT, MNG_IMPORT),
)
SEASON = (1.0, 0.78, 0.98, 1.0, 1.02, 1.03, 1.05, 1.05, 1.04, 1.0, 1.03, 1.08)

# --- File formats --------------------------------------------------------------------------------
UNITS_EN = {
    "千克": "Kilogram",
    "个": "Number of item",
    "件": "Piece",
    "条": "Strip",
    "套": "Set",
    "升": "Liter",
    "千瓦时": "Kilowatt hour",
    "米": "Meter",
    "双": "Pair",
    "台": "Unit",
    "辆": "Vehicle",
    "架": "Aircraft",
    "平方米": "Square meter",
    "吨": "Ton",
}


@dataclass(frozen=True)
class Row:
    period: str  # YYYY-MM
    partner: str
    hs: str
    regime: str  # "" when the file is not split by regime
    quantity: int
    unit: str  # Chinese unit, "" when missing
    quantity2: int
    unit2: str
    value: int


@dataclass(frozen=True)
class Seeds:
    commodities: dict[str, tuple[str, str]]  # hs_code -> (English, Chinese)
    partners: dict[str, tuple[str, str]]  # partner_code -> (English, Chinese)


# --- Integer arithmetic --------------------------------------------------------------------------


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights`, exactly, by largest remainder (ties by index)."""
    scaled = [max(1, round(w * 1_000_000)) for w in weights]
    denominator = sum(scaled)
    shares = [total * s // denominator for s in scaled]
    remainders = sorted(range(len(scaled)), key=lambda i: (-(total * scaled[i] % denominator), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def stream(*key: object) -> random.Random:
    """An independent, reproducible random stream per named purpose."""
    return random.Random(":".join([SEED, *map(str, key)]))


def jitter(rng: random.Random, value: int) -> int:
    """Move a rounded figure by at most 0.02%, so totals are not suspiciously round."""
    spread = value // 5000
    return value + rng.randint(-spread, spread)


# --- China-DPRK targets and lines ---------------------------------------------------------------


def prk_targets() -> dict[tuple[str, str], int]:
    """(period, flow) -> China-DPRK value; exact figures kept, balancing months absorb jitter."""
    rng = stream("prk-targets")
    totals: dict[str, int] = {}
    imports: dict[str, int] = {}
    for period, total, imported in PRK_TARGETS:
        pinned = period in PINNED
        totals[period] = total if pinned else jitter(rng, total)
        imports[period] = imported if pinned else jitter(rng, imported)
    for period, members, value in BALANCES:
        totals[period] = value - sum(totals[m] for m in members if m != period)
    targets: dict[tuple[str, str], int] = {}
    for period in PERIODS:
        targets[period, "export"] = totals[period] - imports[period]
        targets[period, "import"] = imports[period]
    return targets


def anchor_allocations(targets: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """(period, flow) -> value of the flow's lead heading, its yearly value spread over months."""
    allocations: dict[tuple[str, str], int] = {}
    for (flow, heading), by_year in ANCHORS.items():
        for year, amount in by_year.items():
            rng = stream("anchor", flow, heading, year)
            months = [p for p in PERIODS if p.startswith(str(year))]
            weights = [targets[p, flow] * rng.uniform(0.85, 1.15) for p in months]
            for period, value in zip(months, apportion(amount, weights), strict=True):
                allocations[period, flow] = value
    return allocations


def regime_weights(spec: Spec) -> list[tuple[str, float]]:
    pairs = [part.split(":") for part in spec.regimes.split()]
    return [(regime, float(weight)) for regime, weight in pairs]


def season_factor(hs: str, month: int) -> float:
    if hs[:4] in SPRING_HEADINGS and month in (3, 4, 5):
        return 1.8
    return 1.0


def prk_candidates(
    rng: random.Random, flow: str, period: str, heading: str, lead: bool
) -> list[tuple[Spec, str, float]]:
    """The (spec, regime, weight) lines present this month, inside or outside the lead heading."""
    month = int(period[5:])
    chosen = []
    for spec in PRK_SPECS[flow]:
        if (spec.hs[:4] == heading) != lead or rng.random() >= spec.presence:
            continue
        for regime, weight in regime_weights(spec):
            noise = rng.uniform(0.6, 1.4) if not lead else rng.uniform(0.8, 1.2)
            chosen.append((spec, regime, weight * noise * season_factor(spec.hs, month)))
    return chosen


def quantities(rng: random.Random, spec: Spec, value: int) -> tuple[int, int]:
    quantity = max(1, round(value / (spec.price * rng.uniform(0.85, 1.15))))
    quantity2 = max(1, round(quantity * spec.per2 * rng.uniform(0.9, 1.1))) if spec.unit2 else 0
    return quantity, quantity2


def prk_rows(period: str, flow: str, total: int, lead_value: int) -> list[Row]:
    """China-DPRK lines of one month and flow, summing exactly to `total`."""
    rng = stream("prk-lines", period, flow)
    heading = next(h for f, h in ANCHORS if f == flow)
    rows: list[Row] = []
    for lead, amount in ((True, lead_value), (False, total - lead_value)):
        chosen = prk_candidates(rng, flow, period, heading, lead)
        values = apportion(amount, [weight for _, _, weight in chosen])
        for (spec, regime, _), value in zip(chosen, values, strict=True):
            quantity, quantity2 = quantities(rng, spec, value)
            rows.append(
                Row(period, PRK, spec.hs, regime, quantity, spec.unit, quantity2, spec.unit2, value)
            )
    if flow == "export":
        rows = with_covered_exports(period, rows, heading)
    return sorted(rows, key=lambda r: (r.hs, r.regime))


def with_covered_exports(period: str, rows: list[Row], heading: str) -> list[Row]:
    """Add the constructed COVERED_EXPORTS lines of the month, their value taken out of the
    largest regime-10 line outside the lead heading (its quantity scaled down with it)."""
    year, month = int(period[:4]), int(period[5:])
    if year < COVERED_FROM_YEAR:
        return rows
    rows = list(rows)
    for hs, months, (low, high), price in COVERED_EXPORTS:
        if month not in months:
            continue
        rng = stream("covered-export", period, hs)
        value = rng.randint(low, high)
        donors = [i for i, r in enumerate(rows) if r.regime == "10" and r.hs[:4] != heading]
        i = max(donors, key=lambda j: (rows[j].value, rows[j].hs))
        donor = rows[i]
        kept = donor.value - value
        rows[i] = Row(
            donor.period,
            donor.partner,
            donor.hs,
            donor.regime,
            max(1, round(donor.quantity * kept / donor.value)),
            donor.unit,
            max(1, round(donor.quantity2 * kept / donor.value)) if donor.unit2 else 0,
            donor.unit2,
            kept,
        )
        quantity = max(1, round(value / (price * rng.uniform(0.9, 1.1))))
        rows.append(Row(period, PRK, hs, "10", quantity, "千克", 0, "", value))
    return rows


# --- Other partners ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    code: str
    weight: float
    unit: str = ""
    price: float = 0.0
    unit2: str = ""
    per2: float = 0.0


def parse_headings(text: str) -> list[Heading]:
    headings = []
    for item in text.split():
        parts = item.split(":")
        code, weight = parts[0], float(parts[1])
        unit, price = (parts[2], float(parts[3])) if len(parts) >= 4 else ("", 0.0)
        unit2, per2 = (parts[4], float(parts[5])) if len(parts) >= 6 else ("", 0.0)
        headings.append(Heading(code, weight, unit, price, unit2, per2))
    return headings


def partner_month_value(partner: Partner, flow: str, period: str) -> int:
    rng = stream("partner-total", partner.code, flow, period)
    year, month = int(period[:4]), int(period[5:])
    average = partner.monthly_musd(flow, year) * M
    factor = SEASON[month - 1] * 12 / sum(SEASON) * rng.uniform(0.96, 1.04)
    return round(average * factor)


def partner_rows(partner: Partner, flow: str, period: str) -> list[Row]:
    rng = stream("partner-lines", partner.code, flow, period)
    headings = parse_headings(partner.lines(flow))
    weights = [h.weight * rng.uniform(0.85, 1.15) for h in headings]
    values = apportion(partner_month_value(partner, flow, period), weights)
    rows = []
    for heading, value in zip(headings, values, strict=True):
        quantity = quantity2 = 0
        if heading.unit:
            quantity = max(1, round(value / (heading.price * rng.uniform(0.9, 1.1))))
        if heading.unit2:
            quantity2 = max(1, round(quantity * heading.per2 * rng.uniform(0.9, 1.1)))
        rows.append(
            Row(
                period,
                partner.code,
                heading.code,
                "",
                quantity,
                heading.unit,
                quantity2,
                heading.unit2,
                value,
            )
        )
    return sorted(rows, key=lambda r: r.hs)


# --- Rendering -----------------------------------------------------------------------------------


def name(names: dict[str, tuple[str, str]], code: str, language: int) -> str:
    """A seed name in English (0) or Chinese (1); an export never has an empty name."""
    found = names[code][language]
    if not found:
        raise SystemExit(f"seeds/ has no {('English', 'Chinese')[language]} name for {code}")
    return found


def english_fields(row: Row, seeds: Seeds, with_regime: bool, dash: str) -> list[str]:
    regime = [row.regime, REGIMES[row.regime][0]] if with_regime else []
    return [
        row.period.replace("-", ""),
        row.partner,
        name(seeds.partners, row.partner, 0),
        row.hs,
        name(seeds.commodities, row.hs, 0),
        *regime,
        f"{row.quantity:,}",
        UNITS_EN[row.unit] if row.unit else dash,
        f"{row.quantity2:,}",
        UNITS_EN[row.unit2] if row.unit2 else dash,
        f"{row.value:,}",
    ]


def chinese_fields(row: Row, seeds: Seeds, with_regime: bool, dash: str) -> list[str]:
    regime = [row.regime, REGIMES[row.regime][1]] if with_regime else []
    return [
        row.period.replace("-", ""),
        row.hs,
        name(seeds.commodities, row.hs, 1),
        row.partner,
        name(seeds.partners, row.partner, 1),
        *regime,
        str(row.quantity),
        row.unit or dash,
        str(row.quantity2),
        row.unit2 or dash,
        str(row.value),
    ]


def header(names: Sequence[str], with_regime: bool) -> Sequence[str]:
    return names if with_regime else gacc_csv.without_regime(names)


def render_english(rows: Sequence[Row], seeds: Seeds, with_regime: bool, dash: str) -> bytes:
    lines = [english_fields(row, seeds, with_regime, dash) for row in rows]
    return gacc_csv.english_csv(header(gacc_csv.EN_HEADER, with_regime), lines)


def render_chinese(rows: Sequence[Row], seeds: Seeds, with_regime: bool, dash: str) -> bytes:
    lines = [chinese_fields(row, seeds, with_regime, dash) for row in rows]
    return gacc_csv.chinese_csv(header(gacc_csv.ZH_HEADER, with_regime), lines)


@dataclass(frozen=True)
class OutFile:
    flow: str
    period: str
    name: str
    rows: tuple[Row, ...]
    english: bool
    with_regime: bool
    superseded: bool = False  # an earlier vintage: a later file of the same download replaces it


def render(file: OutFile, seeds: Seeds) -> bytes:
    dash = stream("dash", file.flow, file.period, file.name).choice(("-", "—"))
    renderer = render_english if file.english else render_chinese
    return renderer(file.rows, seeds, file.with_regime, dash)


# --- Files of a month ----------------------------------------------------------------------------


def prk_files(period: str, flow: str, rows: Sequence[Row]) -> list[OutFile]:
    """One file per group of regimes; the language alternates by month, group and flow."""
    month_index = PERIODS.index(period)
    files = []
    for group_index, (tag, regimes) in enumerate(REGIME_FILES):
        selected = tuple(r for r in rows if r.regime in regimes)
        if not selected:
            continue
        english = (month_index + group_index + FLOWS.index(flow)) % 2 == 0
        name = f"prk_hs8_{tag}_{'en' if english else 'zh'}.csv"
        files.append(OutFile(flow, period, name, selected, english, True))
    return files


def partner_files(period: str, flow: str) -> list[OutFile]:
    """4-digit partners: one English file each; 2-digit partners: one Chinese file together."""
    files = []
    for partner in (p for p in PARTNERS if p.level == 4):
        rows = tuple(partner_rows(partner, flow, period))
        files.append(OutFile(flow, period, f"{partner.tag}_hs4_en.csv", rows, True, False))
    chapters = [p for p in PARTNERS if p.level == 2]
    rows = tuple(row for partner in chapters for row in partner_rows(partner, flow, period))
    name = "_".join(p.tag for p in chapters) + "_hs2_zh.csv"
    files.append(OutFile(flow, period, name, rows, False, False))
    return files


def all_files(targets: dict[tuple[str, str], int]) -> list[OutFile]:
    leads = anchor_allocations(targets)
    files = long_files(long_targets())
    for flow in FLOWS:
        for period in PERIODS:
            rows = prk_rows(period, flow, targets[period, flow], leads[period, flow])
            files += prk_files(period, flow, rows)
            files += partner_files(period, flow)
    return files


# --- Seeds and checks ----------------------------------------------------------------------------


def read_seeds(seeds_dir: Path) -> Seeds:
    with (seeds_dir / "commodities.csv").open(encoding="utf-8", newline="") as handle:
        commodities = {
            r["hs_code"]: (r["description_en"].strip(), r["description_zh"].strip())
            for r in csv.DictReader(handle)
        }
    with (seeds_dir / "partners.csv").open(encoding="utf-8", newline="") as handle:
        partners = {
            r["partner_code"]: (r["partner_name_en"].strip(), r["partner_name_zh"].strip())
            for r in csv.DictReader(handle)
        }
    return Seeds(commodities, partners)


def check_rows(files: Iterable[OutFile], seeds: Seeds) -> None:
    """Every code is in the seeds and every line key is unique, as in a real export."""
    keyed = [(file.flow, row) for file in files if not file.superseded for row in file.rows]
    missing_hs = sorted({row.hs for _, row in keyed} - seeds.commodities.keys())
    missing_partners = sorted({row.partner for _, row in keyed} - seeds.partners.keys())
    if missing_hs or missing_partners:
        raise SystemExit(
            f"codes not in seeds/: commodities {missing_hs}, partners {missing_partners}"
        )
    keys = [(flow, r.period, r.partner, r.hs, r.regime) for flow, r in keyed]
    if len(set(keys)) != len(keys):
        raise SystemExit("the same period, flow, partner, commodity and regime twice")


def members(period: str) -> list[str]:
    if "/" in period:
        start, end = period.split("/")
        return [p for p in ALL_PERIODS if start <= p <= end]
    return [p for p in ALL_PERIODS if p.startswith(period)]


def prk_value(files: Sequence[OutFile], period: str, flow: str, hs_code: str = "") -> int:
    """China-DPRK value written for a month, year or range, a flow or "total", and a heading."""
    months = set(members(period))
    flows = FLOWS if flow == "total" else (flow,)
    return sum(
        row.value
        for file in files
        if file.period in months and file.flow in flows and not file.superseded
        for row in file.rows
        if row.partner == PRK and row.hs.startswith(hs_code)
    )


def tolerance(published: Published) -> float:
    if published.exact:
        return 0.0
    if "/" in published.period:
        return TOLERANCE_PCT["range"]
    return TOLERANCE_PCT["month" if "-" in published.period else "year"]


def calibration(files: Sequence[OutFile]) -> list[tuple[Published, int, float]]:
    """(figure, value in the sample, distance in %); raises if a figure is missed."""
    report = []
    for published in PUBLISHED:
        value = prk_value(files, published.period, published.flow, published.hs_code)
        distance = 100 * (value - published.value) / published.value
        if abs(distance) > tolerance(published) + 1e-9:
            raise SystemExit(f"calibration missed: {published} -> {value} ({distance:+.3f}%)")
        report.append((published, value, distance))
    h1 = [prk_value(files, f"{year}-01/{year}-06", "total") for year in (2024, 2025)]
    yoy = 100 * (h1[1] / h1[0] - 1)
    if abs(yoy - H1_YOY_PCT) > 0.5:
        raise SystemExit(f"H1 2025 growth {yoy:.2f}% is not about {H1_YOY_PCT}%")
    return report


# --- Preliminary tables ------------------------------------------------------------------
# GACC's English table "(4) China's Total Export & Import Values by Country/Region, <Mon YYYY>
# (in USD)", one static HTML page per release, under landing/preliminary/<YYYY-MM>/. The rows of
# the partners with detailed data are the detailed sample's totals rounded to the printed digit
# (so a preliminary-vs-detailed cross-check agrees within rounding), except the two DELIBERATE cases
# below; the blocs, the rest of the world and every CNY figure are invented. 2026 Jan-Feb exists
# only here (the detailed sample ends in 2025-12).
PRELIM_DIR = "preliminary"
# (folder month, publication date): preliminary tables on the 7th-14th of the following month;
# January and February together in March, cumulative only (folder of February).
PRELIM_RELEASES: tuple[tuple[str, str], ...] = (
    ("2025-02", "2025-03-07"),
    ("2025-03", "2025-04-14"),
    ("2025-04", "2025-05-09"),
    ("2025-05", "2025-06-09"),
    ("2025-06", "2025-07-14"),
    ("2025-07", "2025-08-07"),
    ("2025-08", "2025-09-08"),
    ("2025-09", "2025-10-13"),
    ("2025-10", "2025-11-07"),
    ("2025-11", "2025-12-08"),
    ("2025-12", "2026-01-14"),
    ("2026-02", "2026-03-07"),
)
REST = "(rest of the world)"  # invented, never printed: Total = listed rows + the rest
# Printed rows in the order of the table, and the partner code of those with detailed data.
# Labels are spelled as GACC's English tables spell them ("Korea,Rep.", no space).
PRELIM_ROWS: tuple[tuple[str, str], ...] = (
    ("Total", ""),
    ("Japan", "116"),
    ("Korea,Rep.", "133"),
    ("ASEAN", ""),
    ("European Union", ""),
    ("Russian Federation", "344"),
    ("United States", "502"),
)
PRELIM_PARTNERS = tuple(label for label, code in PRELIM_ROWS if code)
PRELIM_BLOCS = (*(label for label, code in PRELIM_ROWS if not code and label != "Total"), REST)
# DELIBERATE case (a): the first June 2025 page (published with the other preliminary tables) prints
# this partner-flow month off the detailed total by `per_mille`; a second June page published
# later revises it to the detailed figure. Only that partner's row differs between the pages.
PRELIM_REVISION = ("2025-06", "United States", "export", -8, "2025-08-08")
# DELIBERATE case (b): the preliminary figure of this partner-month-flow is `per_mille` above the
# detailed total (above the 0.5% the product's cross-check tolerates). Later pages' January-to-
# month values use the detailed month again, as a later cumulative carries the corrected month.
PRELIM_DISAGREEMENT = ("2025-04", "Korea,Rep.", "import", 12)
# The separate CNY series: one page, invented figures (never converted from USD).
PRELIM_CNY = ("2025-06", "2025-07-14")
# Unit of the last printed digit, in whole currency units: 0.1 USD1 Million, 0.01 CNY 100 Million.
PRELIM_UNITS = {"USD": ("USD1 Million", 100_000, 1), "CNY": ("CNY 100 Million", 1_000_000, 2)}
# Invented average month, million currency units, per series, flow and year.
PRELIM_LEVELS: dict[str, dict[str, dict[str, tuple[tuple[int, int], ...]]]] = {
    # (year, level) pairs per flow; USD: only the series without detailed data.
    "USD": {
        "ASEAN": {
            "export": ((2024, 48_000), (2025, 55_000), (2026, 58_000)),
            "import": ((2024, 33_000), (2025, 33_500), (2026, 34_500)),
        },
        "European Union": {
            "export": ((2024, 43_000), (2025, 46_500), (2026, 47_500)),
            "import": ((2024, 22_500), (2025, 22_000), (2026, 22_500)),
        },
        REST: {
            "export": ((2024, 130_000), (2025, 139_000), (2026, 143_000)),
            "import": ((2024, 110_000), (2025, 106_000), (2026, 108_000)),
        },
    },
    "CNY": {
        "Japan": {
            "export": ((2024, 91_000), (2025, 94_800)),
            "import": ((2024, 93_800), (2025, 93_300)),
        },
        "Korea,Rep.": {
            "export": ((2024, 88_300), (2025, 91_900)),
            "import": ((2024, 105_400), (2025, 109_900)),
        },
        "ASEAN": {
            "export": ((2024, 344_000), (2025, 394_900)),
            "import": ((2024, 236_500), (2025, 240_500)),
        },
        "European Union": {
            "export": ((2024, 308_100), (2025, 333_900)),
            "import": ((2024, 161_200), (2025, 158_000)),
        },
        "Russian Federation": {
            "export": ((2024, 68_900), (2025, 60_300)),
            "import": ((2024, 77_500), (2025, 69_600)),
        },
        "United States": {
            "export": ((2024, 313_000), (2025, 257_000)),
            "import": ((2024, 98_000), (2025, 80_500)),
        },
        REST: {
            "export": ((2024, 931_500), (2025, 998_000)),
            "import": ((2024, 788_200), (2025, 761_100)),
        },
    },
}
SEASON_PER_MILLE = (1000, 780, 980, 1000, 1020, 1030, 1050, 1050, 1040, 1000, 1030, 1080)
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PRELIM_COLUMNS = (
    "period",
    "months_covered",
    "partner_label",
    "flow",
    "currency",
    "value_month",
    "value_ytd",
    "yoy_ytd_pct",
    "published_on",
    "file",
)


@dataclass(frozen=True)
class PrelimRow:
    label: str
    flow: str  # "total", "export" or "import"
    month: int | None  # whole currency units as printed (rounded), None in a Jan-Feb table
    ytd: int
    yoy: str  # as printed, e.g. "-3.4"
    cells: tuple[str, str, str]  # month, January-to-month, YoY as printed ("" for no month)


@dataclass(frozen=True)
class PrelimPage:
    period: str  # folder month YYYY-MM (February for a January-February release)
    months_covered: int
    currency: str
    published_on: str
    rows: tuple[PrelimRow, ...]

    @property
    def name(self) -> str:
        stamp = self.period.replace("-", "")
        return f"prelim_{stamp}_{self.currency.lower()}.published-{self.published_on}.html"

    @property
    def relative(self) -> str:
        return f"{PRELIM_DIR}/{self.period}/{self.name}"


def detailed_totals(files: Sequence[OutFile]) -> dict[tuple[str, str, str], int]:
    """(period, partner code, flow) -> the detailed sample's value, as in expected_totals.csv."""
    sums: dict[tuple[str, str, str], int] = {}
    for file in files:
        if file.superseded:
            continue
        for row in file.rows:
            key = (row.period, row.partner, file.flow)
            sums[key] = sums.get(key, 0) + row.value
    return sums


def invented_month(currency: str, series: str, flow: str, period: str) -> int:
    """An invented month (whole currency units): the year's level, season and noise."""
    year, month = int(period[:4]), int(period[5:])
    level = dict(PRELIM_LEVELS[currency][series][flow])[year]
    noise = stream("prelim-invented", currency, series, flow, period).randint(960, 1040)
    seasonal = level * M * 12 * SEASON_PER_MILLE[month - 1] // sum(SEASON_PER_MILLE)
    return seasonal * noise // 1000


def final_month(
    detailed: dict[tuple[str, str, str], int], currency: str, label: str, flow: str, period: str
) -> int:
    """The value a month finally has: the detailed total where the sample has one (USD
    partners, 2022-2025), a 2026 value grown from 2025's for them, else the invented series."""
    code = dict(PRELIM_ROWS).get(label, "")
    if currency == "USD" and code:
        if period in PERIODS:
            return detailed[period, code, flow]
        base = detailed[f"{int(period[:4]) - 1}{period[4:]}", code, flow]
        return base * stream("prelim-2026", code, flow, period).randint(940, 1080) // 1000
    return invented_month(currency, label, flow, period)


def round_to(value: int, unit: int) -> int:
    """Round half up to a multiple of `unit` (the printed digit), in whole currency units."""
    return (value + unit // 2) // unit * unit


def printed(value: int, unit: int, decimals: int) -> str:
    """12_345_650_000 USD in USD1 Million with one decimal -> '12,345.7'."""
    digits = round_to(value, unit) // unit
    whole, fraction = divmod(digits, 10**decimals)
    return f"{whole:,}.{fraction:0{decimals}d}"


def yoy_text(current: int, previous: int) -> str:
    pct = (Decimal(current - previous) * 100 / Decimal(previous)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return str(pct + 0)  # "+ 0" turns -0.0 into 0.0


def prelim_page(
    detailed: dict[tuple[str, str, str], int],
    period: str,
    published_on: str,
    currency: str = "USD",
    overrides: dict[tuple[str, str], int] | None = None,
) -> PrelimPage:
    """One release. `overrides` ((label, flow) -> per mille) move this page's own month of a
    partner away from its final value (the deliberate cases); earlier months are final."""
    year, last = int(period[:4]), int(period[5:])
    months_covered = 2 if last == 2 else 1
    this = [f"{year}-{m:02d}" for m in range(1, last + 1)]
    before = [f"{year - 1}-{m:02d}" for m in range(1, last + 1)]
    unit, decimals = PRELIM_UNITS[currency][1:]
    overrides = overrides or {}

    def months(label: str, flow: str, periods: list[str], shifted: bool) -> list[int]:
        values = [final_month(detailed, currency, label, flow, p) for p in periods]
        per_mille = overrides.get((label, flow), 0) if shifted else 0
        values[-1] = values[-1] * (1000 + per_mille) // 1000
        return values

    # (label, flow) -> (this year's months, last year's months); Total from the final values.
    series = {}
    for label in (*PRELIM_PARTNERS, *PRELIM_BLOCS):
        for flow in FLOWS:
            series[label, flow] = (
                months(label, flow, this, True),
                months(label, flow, before, False),
            )
    for flow in FLOWS:
        parts = [months(label, flow, this, False) for label in (*PRELIM_PARTNERS, *PRELIM_BLOCS)]
        previous = [series[label, flow][1] for label in (*PRELIM_PARTNERS, *PRELIM_BLOCS)]
        series["Total", flow] = (
            [sum(c) for c in zip(*parts, strict=True)],
            [sum(c) for c in zip(*previous, strict=True)],
        )
    rows = []
    for label, _ in PRELIM_ROWS:
        exported, imported = series[label, "export"], series[label, "import"]
        for flow in ("total", *FLOWS):
            if flow == "total":
                current = [e + i for e, i in zip(exported[0], imported[0], strict=True)]
                previous = [e + i for e, i in zip(exported[1], imported[1], strict=True)]
            else:
                current, previous = series[label, flow]
            month = None if months_covered == 2 else round_to(current[-1], unit)
            ytd, yoy = round_to(sum(current), unit), yoy_text(sum(current), sum(previous))
            cells = (
                "" if month is None else printed(current[-1], unit, decimals),
                printed(sum(current), unit, decimals),
                yoy,
            )
            rows.append(PrelimRow(label, flow, month, ytd, yoy, cells))
    return PrelimPage(period, months_covered, currency, published_on, tuple(rows))


def prelim_pages(detailed: dict[tuple[str, str, str], int]) -> list[PrelimPage]:
    revised_period, revised_label, revised_flow, revised_by, revised_on = PRELIM_REVISION
    wrong_period, wrong_label, wrong_flow, wrong_by = PRELIM_DISAGREEMENT
    pages = []
    for period, published_on in PRELIM_RELEASES:
        overrides = {}
        if period == wrong_period:
            overrides[wrong_label, wrong_flow] = wrong_by
        if period == revised_period:
            first = {**overrides, (revised_label, revised_flow): revised_by}
            pages.append(prelim_page(detailed, period, published_on, "USD", first))
            pages.append(prelim_page(detailed, period, revised_on, "USD", overrides))
        else:
            pages.append(prelim_page(detailed, period, published_on, "USD", overrides))
    pages.append(prelim_page(detailed, *PRELIM_CNY, "CNY"))
    return sorted(pages, key=lambda page: page.relative)


PRELIM_TEMPLATE = """\
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{title}</title>
<link rel="stylesheet" type="text/css" href="/Portals/0/css/english.css" />
</head>
<body>
<div class="header"><a href="/">General Administration of Customs, P.R. China</a></div>
<div class="nav"><a href="/">Home</a> &gt; <a href="/statics/report/preliminary.html">\
Statistics</a> &gt; Preliminary Release</div>
<div class="main">
  <div class="atcl">
      <div class="atcl-ttl">{title}</div>
      <div class="atcl-date">Updated: {published_on}</div>
      <div class="atcl-cnt" id="easysiteText">
<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" \
style="border-collapse:collapse;border:none">
<tbody>
{rows}
</tbody>
</table>
      </div>
  </div>
</div>
<div class="footer">Copyright &copy; General Administration of Customs, P.R. China</div>
</body>
</html>
"""


def prelim_title(page: PrelimPage) -> str:
    year, last = page.period[:4], int(page.period[5:])
    month = MONTH_NAMES[last - 1][:3]
    when = f"Jan-{month} {year}" if page.months_covered == 2 else f"{month} {year}"
    return (
        f"(4) China's Total Export & Import Values by Country/Region, {when} (in {page.currency})"
    )


def render_prelim(page: PrelimPage) -> bytes:
    """A page shaped like GACC's English static pages (Word-exported table, UTF-8, LF)."""
    width = 7 if page.months_covered == 2 else 10
    last = int(page.period[5:])
    cumulative = f"January to {MONTH_NAMES[last - 1]}"
    title = escape(prelim_title(page), quote=False).replace("'", "&#39;")

    def tr(cells: Iterable[str]) -> str:
        return "<tr>" + "".join(cells) + "</tr>"

    def td(text: str, attrs: str = "") -> str:
        return f"<td{attrs}>{escape(text, quote=False)}</td>"

    flows = ("Export & Import", "Export", "Import")
    span = ' colspan="2" align="center"' if width == 10 else ' align="center"'
    lines = [
        tr([f'<td colspan="{width}" style="border:none"><b>{title}</b></td>']),
        tr(
            [
                td(
                    f"Unit: {PRELIM_UNITS[page.currency][0]}",
                    f' colspan="{width}" style="border:none"',
                )
            ]
        ),
        tr(
            [
                td("Country/Region", ' rowspan="2" align="center"'),
                *(td(flow, span) for flow in flows),
                td(f"{cumulative} YoY (%)", ' colspan="3" align="center"'),
            ]
        ),
        tr(
            [
                *(
                    td(name, ' align="center"')
                    for _ in flows
                    for name in (
                        (MONTH_NAMES[last - 1][:3], cumulative) if width == 10 else (cumulative,)
                    )
                ),
                *(td(flow, ' align="center"') for flow in flows),
            ]
        ),
    ]
    by_label: dict[str, list[PrelimRow]] = {}
    for row in page.rows:
        by_label.setdefault(row.label, []).append(row)
    for label, rows in by_label.items():
        # Ten cells: month and January-to-month per flow; seven: January-to-month only.
        if width == 10:
            values = [cell for row in rows for cell in row.cells[:2]]
        else:
            values = [row.cells[1] for row in rows]
        yoys = [row.cells[2] for row in rows]
        lines.append(tr([td(label), *(td(v, ' align="right"') for v in (*values, *yoys))]))
    html = PRELIM_TEMPLATE.format(
        title=title, published_on=page.published_on, rows="\n".join(lines)
    )
    return html.encode("utf-8")


def check_prelim(page: PrelimPage, data: bytes) -> None:
    """The product's parser must read every page back to exactly the values written."""
    table = parse_preliminary_table(data, page.relative)
    year, last = int(page.period[:4]), int(page.period[5:])
    if (table.period, table.months_covered, table.currency) != (
        date(year, last, 1),
        page.months_covered,
        page.currency,
    ):
        raise SystemExit(f"{page.relative}: parsed as {table.period} {table.currency}")
    parsed = [
        (r["partner_label"], r["flow"], r["value_month"], r["value_ytd"], r["yoy_ytd_pct"])
        for r in table.frame.iter_rows(named=True)
    ]
    written = [(r.label, r.flow, r.month, r.ytd, float(r.yoy)) for r in page.rows]
    if parsed != written:
        raise SystemExit(f"{page.relative}: the parser reads other values than were written")


def check_prelim_against_detailed(
    pages: Sequence[PrelimPage], detailed: dict[tuple[str, str, str], int]
) -> None:
    """USD month values of partners with detailed data are the detailed totals within rounding,
    except the two deliberate cases, which must miss by more than the product's 0.5%."""
    codes = dict(PRELIM_ROWS)
    unit = PRELIM_UNITS["USD"][1]
    published = dict(PRELIM_RELEASES)
    expected_misses = {
        (*PRELIM_REVISION[:3], published[PRELIM_REVISION[0]]),
        (*PRELIM_DISAGREEMENT[:3], published[PRELIM_DISAGREEMENT[0]]),
    }
    misses = set()
    for page in pages:
        if page.currency != "USD" or page.months_covered != 1 or page.period not in PERIODS:
            continue
        for row in page.rows:
            if row.label not in PRELIM_PARTNERS or row.flow == "total" or row.month is None:
                continue
            final = detailed[page.period, codes[row.label], row.flow]
            if abs(row.month - final) > unit // 2:
                if abs(row.month - final) * 1000 <= 5 * final:
                    raise SystemExit(f"{page.relative}: {row.label} {row.flow} misses by <= 0.5%")
                misses.add((page.period, row.label, row.flow, page.published_on))
    if misses != expected_misses:
        raise SystemExit(f"preliminary-vs-detailed misses {sorted(misses)}, not {expected_misses}")


def write_prelim(pages: Sequence[PrelimPage], out: Path, expected: Path) -> int:
    shutil.rmtree(out / PRELIM_DIR, ignore_errors=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PRELIM_COLUMNS)
    for page in pages:
        data = render_prelim(page)
        check_prelim(page, data)
        path = out / page.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        for row in page.rows:
            month = "" if row.month is None else row.month
            writer.writerow(
                [
                    page.period,
                    page.months_covered,
                    row.label,
                    row.flow,
                    page.currency,
                    month,
                    row.ytd,
                    row.yoy,
                    page.published_on,
                    page.relative,
                ]
            )
    expected.parent.mkdir(parents=True, exist_ok=True)
    expected.write_bytes(buffer.getvalue().encode("utf-8"))
    return len(pages)


# --- Output --------------------------------------------------------------------------------------


def write_files(files: Sequence[OutFile], seeds: Seeds, out: Path) -> int:
    for flow in FLOWS:
        shutil.rmtree(out / flow, ignore_errors=True)
    size = 0
    for file in files:
        path = out / file.flow / file.period / file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = render(file, seeds)
        path.write_bytes(data)
        size += len(data)
    return size


def write_expected_totals(files: Sequence[OutFile], path: Path) -> None:
    sums: dict[tuple[str, str, str], list[int]] = {}
    for file in files:
        if file.superseded:
            continue  # the marts show the latest vintage
        for row in file.rows:
            entry = sums.setdefault((row.period, row.partner, file.flow), [0, 0])
            entry[0] += row.value
            entry[1] += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", "partner_code", "flow", "currency", "value", "rows"])
    for (period, partner, flow), (value, count) in sorted(sums.items()):
        writer.writerow([period, partner, flow, "USD", value, count])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def print_report(report: Sequence[tuple[Published, int, float]], files: int, size: int) -> None:
    print(f"wrote {files} files, {size:,} bytes")
    print("| period | flow | hs | published | sample | diff % | exactness | source |")
    print("| --- | --- | --- | ---: | ---: | ---: | --- | --- |")
    for p, value, distance in report:
        kind = "exact" if p.exact else "approximate"
        print(
            f"| {p.period} | {p.flow} | {p.hs_code} | {p.value:,} | {value:,} | "
            f"{distance:+.3f} | {kind} | {p.source} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "data" / "sample" / "landing")
    parser.add_argument("--totals", type=Path, help="default: <out>/../expected_totals.csv")
    parser.add_argument("--seeds", type=Path, default=PROJECT_DIR / "seeds")
    args = parser.parse_args(argv)
    seeds = read_seeds(args.seeds)
    files = all_files(prk_targets())
    check_rows(files, seeds)
    report = calibration(files)
    size = write_files(files, seeds, args.out)
    write_expected_totals(files, args.totals or args.out.parent / "expected_totals.csv")
    detailed = detailed_totals(files)
    pages = prelim_pages(detailed)
    check_prelim_against_detailed(pages, detailed)
    written = write_prelim(pages, args.out, args.out.parent / "expected_preliminary.csv")
    print_report(report, len(files), size)
    print(f"wrote {written} preliminary table pages under {PRELIM_DIR}/")


if __name__ == "__main__":
    main()
