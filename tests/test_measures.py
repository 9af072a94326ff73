"""The sanctions lens: the UN Security Council measures seed, the marts that match China-DPRK
lines to it, and the report's section. Real files, real DuckDB."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

import duckdb
import pytest
from support import PROJECT_DIR, SAMPLE_LANDING, export_file, load

from customs_etl.load import connection
from customs_etl.report.text import HalfYear, sanctions_section

MEASURES = PROJECT_DIR / "seeds" / "unsc_measures.csv"
REFERENCE_VERIFIED = {"yes", "partly", "no"}


@pytest.fixture(scope="module")
def measures() -> list[dict[str, str]]:
    with MEASURES.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_id(measures: list[dict[str, str]], measure_id: str) -> dict[str, str]:
    return next(row for row in measures if row["measure_id"] == measure_id)


# --- the seed ------------------------------------------------------------------------------------


def test_resolution_names_the_chapters_of_2397_paragraphs_6_and_7(
    measures: list[dict[str, str]],
) -> None:
    machinery = by_id(measures, "2397-6-ch84")
    assert (machinery["hs_prefix"], machinery["hs_source"]) == ("84", "resolution_text")
    assert (machinery["direction"], machinery["kind"]) == ("from_dprk", "ban")
    assert by_id(measures, "2397-7-ch84")["direction"] == "to_dprk"
    text = {r["hs_prefix"] for r in measures if r["hs_source"] == "resolution_text"}
    assert {"07", "08", "12", "25", "44", "84", "85", "89", "72", "83", "86"} <= text
    assert all(r["resolution"] == "2397" for r in measures if r["hs_source"] == "resolution_text")


def test_coal_codes_come_from_chinas_notice(measures: list[dict[str, str]]) -> None:
    coal = by_id(measures, "2371-8-2701")
    assert (coal["hs_source"], coal["direction"], coal["effective_date"]) == (
        "china_notice",
        "from_dprk",
        "2017-08-05",
    )
    assert by_id(measures, "2321-26-2701")["kind"] == "cap"
    assert by_id(measures, "2321-26-2701")["in_force_until"] == "2017-08-04"


def test_every_row_names_its_resolution_and_paragraph(measures: list[dict[str, str]]) -> None:
    ids = [row["measure_id"] for row in measures]
    assert len(ids) == len(set(ids))
    for row in measures:
        assert re.fullmatch(r"\d{4}", row["resolution"]), row
        assert row["paragraph"].strip(), row
        assert row["measure_id"].startswith(f"{row['resolution']}-"), row
        assert re.fullmatch(r"\d{2,8}", row["hs_prefix"]), row
        assert row["direction"] in ("to_dprk", "from_dprk"), row
        assert row["kind"] in ("ban", "cap"), row
        assert row["hs_source"] in ("resolution_text", "china_notice", "product_reading"), row
        assert row["verified"] in REFERENCE_VERIFIED, row
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["effective_date"]), row
        assert row["effective_date"] >= row["adopted"], row
        if row["kind"] == "cap":
            assert row["cap_unit"] and row["cap_note"], row


def test_barrel_caps_say_they_do_not_convert(measures: list[dict[str, str]]) -> None:
    refined = by_id(measures, "2397-5-2710")
    assert refined["kind"] == "cap" and refined["effective_date"] == "2018-01-01"
    assert "barrels" in refined["cap_unit"] and "not convert" in refined["cap_note"]


# --- the marts on a small warehouse --------------------------------------------------------------

# 2017-09: refined petroleum (27101999) before the cap of 2375 para 14 took effect (2017-10-01);
# jet fuel (27101911) under the aviation-fuel ban since 2016. 2018-02: jet fuel is under the ban
# AND the cap of 2397 para 5; crude (27090000) under the crude cap AND the condensate ban.
# Imports: crustaceans in July 2017, before the seafood ban (2017-08-05), and in 2018; wigs.
LINES = {
    ("export", "2017-09"): [
        ("109", "27101999", 1_000),
        ("109", "27101911", 500),
        ("109", "67030000", 8_500),
    ],
    ("export", "2018-02"): [
        ("109", "27101911", 700),
        ("109", "27090000", 300),
        ("109", "67030000", 9_000),
        ("133", "27101911", 5_000),
    ],
    ("import", "2017-07"): [("109", "03061100", 800), ("109", "67041900", 5_000)],
    ("import", "2018-02"): [("109", "03061100", 100), ("109", "67041900", 4_900)],
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("measures")
    landing = root / "landing"
    files = [
        export_file(landing / flow / month, "a.csv", month.replace("-", ""), lines)
        for (flow, month), lines in LINES.items()
    ]
    path = root / "customs.duckdb"
    load(path, landing, files, root / "staging")
    con = connection.connect(path, read_only=True)
    yield con
    con.close()


def in_force(con: duckdb.DuckDBPyConnection, measure_id: str, period: str) -> list[tuple]:
    return con.execute(
        """
        select in_force, value_usd, line_count from marts.trade_under_measures_monthly
        where measure_id = ? and period = cast(? as date)
        """,
        [measure_id, period],
    ).fetchall()


def test_trade_before_a_measure_took_effect_is_not_in_force(
    small: duckdb.DuckDBPyConnection,
) -> None:
    assert in_force(small, "2375-14-2710", "2017-09-01") == [(False, 1_500, 2)]
    assert in_force(small, "2397-5-2710", "2017-09-01") == [(False, 1_500, 2)]
    assert in_force(small, "2397-5-2710", "2018-02-01") == [(True, 700, 1)]
    assert in_force(small, "2270-31-27101911", "2017-09-01") == [(True, 500, 1)]
    assert in_force(small, "2371-9-ch03", "2017-07-01") == [(False, 800, 1)]
    assert in_force(small, "2371-9-ch03", "2018-02-01") == [(True, 100, 1)]
    # a replaced measure is out of force after its successor took effect
    assert in_force(small, "2375-14-2710", "2018-02-01") == [(False, 700, 1)]


def test_half_year_keeps_months_before_and_after_apart(small: duckdb.DuckDBPyConnection) -> None:
    rows = small.execute(
        """
        select in_force, value_usd from marts.trade_under_measures_half_year
        where measure_id = '2371-9-ch03' and year = 2017 and half = 'H2'
        """
    ).fetchall()
    assert rows == [(False, 800)]


def test_a_line_under_two_measures_is_counted_once(small: duckdb.DuckDBPyConnection) -> None:
    share = small.execute(
        """
        select flow, value_usd, covered_value_usd, covered_share_pct, covered_line_count
        from marts.trade_under_measures_share_half_year
        where year = 2018 and half = 'H1'
        order by flow
        """
    ).fetchall()
    # exports: 27101911 (ban + cap) and 27090000 (cap + condensate ban), once each; Korea's
    # jet fuel (partner 133) is not the DPRK's
    assert share == [("export", 10_000, 1_000, 10.0, 2), ("import", 5_000, 100, 2.0, 1)]
    under = small.execute(
        """
        select count(*) from marts.trade_under_measures_monthly
        where period = '2018-02-01' and flow = 'export' and in_force
        """
    ).fetchone()
    assert under is not None and under[0] >= 4  # two lines, four measures


def test_wigs_are_not_covered(small: duckdb.DuckDBPyConnection) -> None:
    rows = small.execute(
        """
        select count(*) from marts.trade_under_measures_monthly
        where '67041900' like hs_prefix || '%' and flow = 'import'
        """
    ).fetchone()
    assert rows == (0,)
    before = small.execute(
        """
        select covered_value_usd from marts.trade_under_measures_share_half_year
        where year = 2017 and half = 'H2' and flow = 'import'
        """
    ).fetchone()
    assert before == (0,)  # crustaceans of July 2017 came before the ban


# --- the report on the sample --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_h1_2025(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample's China-DPRK files of H1 2025 (every flow and regime file)."""
    root = tmp_path_factory.mktemp("sample")
    files = sorted(
        path
        for month in range(1, 7)
        for path in SAMPLE_LANDING.glob(f"*/2025-{month:02d}/prk_*.csv")
    )
    path = root / "customs.duckdb"
    load(path, SAMPLE_LANDING, files, root / "staging")
    con = connection.connect(path, read_only=True)
    yield con
    con.close()


def test_report_names_wigs_among_the_largest_uncovered_lines(
    sample_h1_2025: duckdb.DuckDBPyConnection,
) -> None:
    text = sanctions_section(sample_h1_2025, "PRK", HalfYear.parse("2025H1"))
    assert "not a legal finding" in text
    imports = text.split("China's imports from the DPRK:", 1)[1]
    uncovered = imports.split("Largest uncovered lines:", 1)[1]
    assert "6704" in uncovered
    assert "Largest covered lines: none." in imports
    exports = text.split("China's imports from the DPRK:", 1)[0]
    covered = exports.split("Largest covered lines:", 1)[1].split("Largest uncovered", 1)[0]
    assert "2713" in covered and "2397-5" in covered  # the constructed bitumen line


def test_report_for_another_partner_says_the_measures_are_the_dprks(
    sample_h1_2025: duckdb.DuckDBPyConnection,
) -> None:
    assert "DPRK only" in sanctions_section(sample_h1_2025, "USA", HalfYear.parse("2025H1"))
