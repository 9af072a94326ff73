"""The committed seeds: GACC code lists with ISO codes, English names and HS descriptions.

Reads only files in this repository (seeds/ and scripts/seed_curation/), with the csv module;
scripts/build_seeds.py builds the seeds from GACC's .xls code lists outside the repository.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SEEDS = PROJECT_DIR / "seeds"
SQL_DIR = PROJECT_DIR / "sql"
CURATION = PROJECT_DIR / "scripts" / "seed_curation"

COLUMNS = {
    "partners": [
        "partner_code",
        "partner_iso3",
        "partner_name_en",
        "partner_name_zh",
        "partner_kind",
    ],
    "customs_regimes": ["customs_regime_code", "customs_regime_name_en", "customs_regime_name_zh"],
    "commodities": [
        "hs_code",
        "hs_level",
        "description_en",
        "description_zh",
        "description_source",
    ],
}
SOURCES = {
    "2": {"hs_chapter_curated"},
    "4": {"hs_heading_curated", "derived_from_8digit"},
    "6": {"hs_heading_curated", "derived_from_8digit"},
    "8": {"gacc_code_ts"},
}


@cache
def read(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def seed(name: str) -> tuple[dict[str, str], ...]:
    return read(SEEDS / f"{name}.csv")


def partner(code: str) -> dict[str, str]:
    (row,) = [row for row in seed("partners") if row["partner_code"] == code]
    return row


def commodities(level: int) -> dict[str, dict[str, str]]:
    return {row["hs_code"]: row for row in seed("commodities") if row["hs_level"] == str(level)}


# --- Files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_seed_is_utf8_csv_with_header_and_lf_line_endings(name: str) -> None:
    data = (SEEDS / f"{name}.csv").read_bytes()
    text = data.decode("utf-8")
    assert not text.startswith("\ufeff")
    assert b"\r" not in data
    assert text.endswith("\n")
    assert text.splitlines()[0].split(",") == COLUMNS[name]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("partners", "partner_code"),
        ("customs_regimes", "customs_regime_code"),
        ("commodities", "hs_code"),
    ],
)
def test_seed_is_sorted_by_code_each_code_once(name: str, key: str) -> None:
    # Once: the marts look names up by code (a scalar subquery refuses two rows).
    codes = [row[key] for row in seed(name)]
    assert codes == sorted(set(codes))


# --- Partners -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "iso3", "name_en", "name_zh"),
    [
        ("109", "PRK", "Korea,DPR", "朝鲜"),
        ("133", "KOR", "Korea, Rep.", "韩国"),
        ("116", "JPN", "Japan", "日本"),
        ("344", "RUS", "Russian Federation", "俄罗斯联邦"),
        ("408", "BOL", "Bolivia", "多民族玻利维亚国"),
        ("502", "USA", "United States", "美国"),
        ("124", "MNG", "Mongolia", "蒙古"),
        ("142", "CHN", "China", "中国"),
    ],
)
def test_gacc_partner_codes_map_to_the_right_countries(
    code: str, iso3: str, name_en: str, name_zh: str
) -> None:
    row = partner(code)
    assert (row["partner_iso3"], row["partner_name_en"], row["partner_name_zh"]) == (
        iso3,
        name_en,
        name_zh,
    )


def test_gacc_codes_are_not_un_m49() -> None:
    # M49 408 is the DPRK, 410 the Republic of Korea: GACC's 408 and 410 are Bolivia and Brazil.
    assert partner("408")["partner_iso3"] == "BOL"
    assert partner("410")["partner_iso3"] == "BRA"
    assert [row["partner_code"] for row in seed("partners") if row["partner_iso3"] == "PRK"] == [
        "109"
    ]


def test_chinese_territories_are_territories() -> None:
    for code, iso3 in (("110", "HKG"), ("121", "MAC"), ("143", "TWN")):
        assert (partner(code)["partner_iso3"], partner(code)["partner_kind"]) == (iso3, "territory")


def test_every_partner_code_is_three_digits_and_unique() -> None:
    codes = [row["partner_code"] for row in seed("partners")]
    assert len(codes) == 241
    assert all(re.fullmatch(r"\d{3}", code) for code in codes)
    assert len(set(codes)) == len(codes)


def test_partner_iso3_is_unique_and_three_capital_letters() -> None:
    iso3 = [row["partner_iso3"] for row in seed("partners")]
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in iso3)
    assert [code for code, count in Counter(iso3).items() if count > 1] == []


def test_partners_that_are_not_places_have_user_assigned_codes() -> None:
    others = {
        row["partner_code"]: row for row in seed("partners") if row["partner_kind"] == "other"
    }
    assert set(others) == {"199", "299", "399", "499", "599", "699", "701"}
    assert all(row["partner_iso3"].startswith("X") for row in others.values())
    assert {row["partner_kind"] for row in seed("partners")} == {"country", "territory", "other"}


def test_every_partner_has_names() -> None:
    assert all(row["partner_name_en"] and row["partner_name_zh"] for row in seed("partners"))


def test_partners_seed_matches_its_curation() -> None:
    curated = {row["partner_code"]: row for row in read(CURATION / "partners.csv")}
    for row in seed("partners"):
        entry = curated[row["partner_code"]]
        assert row["partner_iso3"] == entry["partner_iso3"]
        assert row["partner_name_zh"] == entry["partner_name_zh"]


# --- Customs regimes ------------------------------------------------------------------------------


def test_twenty_customs_regimes_with_platform_names() -> None:
    regimes = {row["customs_regime_code"]: row for row in seed("customs_regimes")}
    assert len(regimes) == 20
    assert regimes["10"]["customs_regime_name_en"] == "Ordinary Trade"
    assert regimes["10"]["customs_regime_name_zh"] == "一般贸易"
    assert regimes["19"]["customs_regime_name_en"] == "Border Small-scale Trade"
    assert regimes["19"]["customs_regime_name_zh"] == "边境小额贸易"
    assert regimes["15"]["customs_regime_name_en"] == "Processing with Imported Materials"
    assert all(re.fullmatch(r"\d{2}", code) for code in regimes)
    assert all(row["customs_regime_name_en"] for row in regimes.values())


# --- Commodities ----------------------------------------------------------------------------------


def test_every_gacc_tariff_line_is_a_level_8_code() -> None:
    lines = commodities(8)
    assert len(lines) == 8557
    assert all(re.fullmatch(r"\d{8}", code) for code in lines)
    assert lines["67041100"]["description_zh"] == "合成纺织材料制整头假发"


def test_codes_are_unique_per_level_and_as_long_as_their_level() -> None:
    keys = [(row["hs_code"], row["hs_level"]) for row in seed("commodities")]
    assert len(set(keys)) == len(keys)
    assert all(len(code) == int(level) for code, level in keys)
    assert all(code.isdigit() for code, _ in keys)


def test_every_description_has_english_text_and_a_known_source() -> None:
    for row in seed("commodities"):
        assert row["description_en"].strip(), row["hs_code"]
        assert row["description_source"] in SOURCES[row["hs_level"]], row["hs_code"]


def test_every_prefix_of_a_tariff_line_is_present() -> None:
    lines = commodities(8)
    for level in (2, 4, 6):
        assert {code[:level] for code in lines} <= commodities(level).keys()


def test_levels_4_and_6_are_exactly_the_prefixes_of_tariff_lines() -> None:
    lines = commodities(8)
    assert set(commodities(4)) == {code[:4] for code in lines}
    assert set(commodities(6)) == {code[:6] for code in lines}


def test_all_hs_chapters_with_77_reserved_and_china_chapter_98() -> None:
    chapters = commodities(2)
    assert sorted(chapters) == [f"{number:02d}" for number in range(1, 99)]
    assert "Reserved" in chapters["77"]["description_en"]
    assert chapters["39"]["description_en"] == "Plastics and articles thereof"
    assert chapters["94"]["description_en"].startswith("Furniture; bedding, mattresses")
    assert chapters["67"]["description_zh"] == "已加工羽毛、羽绒及其制品；人造花；人发制品"


def test_hair_and_wig_headings() -> None:
    headings = commodities(4)
    assert "wigs" in headings["6704"]["description_en"].lower()
    assert "eyelashes" in headings["6704"]["description_en"]
    assert "假发" in headings["6704"]["description_zh"]
    assert headings["6703"]["description_en"].startswith("Human hair, dressed, thinned, bleached")
    assert {headings[code]["description_source"] for code in ("6703", "6704")} == {
        "hs_heading_curated"
    }


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("1006", "Rice"),
        ("2601", "Iron ores"),
        ("2613", "Molybdenum ores"),
        ("2617", "Other ores"),
        ("2701", "Coal"),
        ("2709", "crude"),
        ("2710", "other than crude"),
        ("3102", "nitrogenous"),
        ("3103", "phosphatic"),
        ("3104", "potassic"),
        ("3105", "nitrogen, phosphorus and potassium"),
        ("3901", "Polymers of ethylene"),
        ("3926", "Other articles of plastics"),
        ("6110", "Jerseys, pullovers"),
        ("8517", "Telephone sets"),
        ("8541", "semiconductor devices"),
        ("8542", "Electronic integrated circuits"),
        ("9401", "Seats"),
        ("9403", "Other furniture"),
        ("9404", "Mattress supports"),
    ],
)
def test_key_headings_carry_the_hs_heading_text(code: str, words: str) -> None:
    row = commodities(4)[code]
    assert words in row["description_en"]
    assert row["description_source"] == "hs_heading_curated"


def test_plastics_headings_3901_to_3926_are_curated() -> None:
    headings = commodities(4)
    plastics = [f"39{number:02d}" for number in range(1, 27)]
    assert all(headings[code]["description_source"] == "hs_heading_curated" for code in plastics)


def test_commodities_seed_matches_its_curation() -> None:
    curated = {row["hs_code"]: row for row in read(CURATION / "hs_headings.csv")}
    levels = {**commodities(4), **commodities(6)}
    for code, entry in curated.items():
        assert levels[code]["description_en"] == entry["description_en"]
        assert levels[code]["description_source"] == "hs_heading_curated"


def test_a_seed_is_read_again_once_its_file_changes(tmp_path: Path) -> None:
    """seeds.read_seed caches by the file's stat: an edited or replaced seed is not served stale,
    and a caller altering its frame does not alter the next caller's."""
    from customs_etl import seeds

    path = tmp_path / "partners.csv"
    path.write_text("partner_code,partner_iso3\n101,AFG\n", encoding="utf-8")
    first = seeds.partners(tmp_path)
    first.columns = ["a", "b"]
    assert seeds.partners(tmp_path).columns == ["partner_code", "partner_iso3"]
    replacement = tmp_path / "new.csv"
    replacement.write_text("partner_code,partner_iso3\n102,BHR\n", encoding="utf-8")
    replacement.replace(path)
    assert seeds.partners(tmp_path)["partner_iso3"].to_list() == ["BHR"]


@pytest.mark.parametrize(
    ("name", "duplicate", "message"),
    [
        ("commodities", "6704,", "seeds/commodities.csv: hs_code 6704 (4 digits) is listed twice"),
        ("partners", "109,", "seeds/partners.csv: partner_code 109 is listed twice"),
        ("partners", "502,", "seeds/partners.csv: partner_iso3 USA is listed twice"),
    ],
)
def test_a_code_listed_twice_fails_the_build_before_anything_is_published(
    tmp_path: Path, name: str, duplicate: str, message: str
) -> None:
    """The commodity marts look names up by code as they are read: a code twice would make
    them fail (or repeat rows) in the published warehouse, so the build refuses it."""
    import shutil

    import duckdb

    from customs_etl.load import connection, models

    seeds_dir = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds_dir)
    path = seeds_dir / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    [line] = [line for line in lines if line.startswith(duplicate)]
    if "partner_iso3" in message:  # another partner code with USA's ISO code
        line = "999" + line[len("502") :]
    path.write_text("".join([*lines, line]), encoding="utf-8")
    con = connection.connect(tmp_path / "w.duckdb")
    models.prepare_schema(con, SQL_DIR)

    with pytest.raises(duckdb.InvalidInputException, match=re.escape(message)):
        models.build_models(con, SQL_DIR, seeds_dir)
    con.close()
