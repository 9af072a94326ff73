"""The main flow end to end, under a real (temporary) Prefect server, on the embedded sample,
on both storage backends: the embedded DuckDB file and the lake (DuckLake, SQLite catalog,
local Parquet), which must give identical marts."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import BACKENDS, Where, mart_rows, marts_digest, use_backend
from support import FIXTURES, PROJECT_DIR, SAMPLE_LANDING

from customs_etl.errors import RejectedReleasesError
from customs_etl.report import text as report
from flows.build_warehouse import build_warehouse

EXPECTED_TOTALS = PROJECT_DIR / "data" / "sample" / "expected_totals.csv"


@dataclass(frozen=True)
class SampleRun:
    warehouse: Where
    first: object
    second: object
    marts_after_first: list[tuple]


def marts_snapshot(where: Where) -> list[tuple]:
    con = where.connect()
    rows = (
        con.execute("select * from marts.trade_monthly order by all").fetchall()
        + con.execute("select * from marts.trade_by_commodity_monthly order by all").fetchall()
    )
    con.close()
    return rows


@pytest.fixture(scope="module")
def sample_runs(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], SampleRun]:
    """The sample run twice on a backend, once per module and backend, when first asked."""
    runs: dict[str, SampleRun] = {}

    def on(backend: str) -> SampleRun:
        if backend not in runs:
            with pytest.MonkeyPatch.context() as patch:
                where = use_backend(backend, tmp_path_factory.mktemp(f"sample-{backend}"), patch)
                first = build_warehouse(str(SAMPLE_LANDING))
                snapshot = marts_snapshot(where)
                second = build_warehouse(str(SAMPLE_LANDING))
                runs[backend] = SampleRun(where, first, second, snapshot)
        return runs[backend]

    return on


@pytest.fixture(scope="module", params=BACKENDS)
def sample_run(
    request: pytest.FixtureRequest, sample_runs: Callable[[str], SampleRun]
) -> SampleRun:
    return sample_runs(request.param)


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    """A fresh warehouse on each backend."""
    return use_backend(request.param, tmp_path, monkeypatch)


def query(where: Where, sql: str, *params: object) -> list[tuple]:
    return where.query(sql, *params)


def test_both_backends_give_identical_marts(sample_runs: Callable[[str], SampleRun]) -> None:
    """Every mart, row for row in any order, the same on the embedded file and the lake."""
    embedded, lake = (marts_digest(sample_runs(backend).warehouse) for backend in BACKENDS)
    assert len(embedded) >= 10
    assert all(rows > 0 for rows, _ in embedded.values())
    assert lake.keys() == embedded.keys()
    differing = sorted(table for table in embedded if lake[table] != embedded[table])
    examples = {
        table: sorted(
            set(mart_rows(sample_runs("lake").warehouse, table))
            ^ set(mart_rows(sample_runs("embedded").warehouse, table))
        )[:4]
        for table in differing
    }
    assert differing == [], examples


def test_the_headline_h1_2025_figure(sample_run: SampleRun) -> None:
    [(value, yoy, months)] = query(
        sample_run.warehouse,
        "select value_usd, yoy_pct, months_covered from marts.trade_half_year "
        "where year = 2025 and half = 'H1' and partner_iso3 = 'PRK' and flow = 'total'",
    )
    assert value == pytest.approx(1.26e9, rel=0.01)
    assert yoy == pytest.approx(30.0, abs=1.0)
    assert months == 6


def test_every_month_equals_the_sample_files(sample_run: SampleRun) -> None:
    with EXPECTED_TOTALS.open(newline="", encoding="utf-8") as handle:
        expected = {
            (r["period"], r["partner_code"], r["flow"]): int(r["value"])
            for r in csv.DictReader(handle)
            if r["currency"] == "USD"
        }
    actual = {
        (period, partner, flow): value
        for period, partner, flow, value in query(
            sample_run.warehouse,
            "select strftime(period, '%Y-%m'), partner_code, flow, value_usd "
            "from marts.trade_monthly where flow <> 'total' and source_kind = 'detailed'",
        )
    }
    assert actual == expected


def test_preliminary_tables_fill_only_months_without_detail(sample_run: SampleRun) -> None:
    """January-February 2026 exists only in the sample's preliminary table: one two-month row
    per partner and flow, exactly the table's figures; every other month is detailed."""
    with (PROJECT_DIR / "data" / "sample" / "expected_preliminary.csv").open(encoding="utf-8") as f:
        expected = {
            (r["partner_label"], r["flow"]): int(r["value_ytd"])
            for r in csv.DictReader(f)
            if r["period"] == "2026-02"
            and r["flow"] != "total"
            and r["partner_label"] in ("Japan", "Korea,Rep.", "Russian Federation", "United States")
        }
    rows = query(
        sample_run.warehouse,
        "select partner_iso3, flow, value_usd, period, period_end, months_covered "
        "from marts.trade_monthly where source_kind = 'preliminary' and flow <> 'total' "
        "order by all",
    )
    iso3 = {
        "Japan": "JPN",
        "Korea,Rep.": "KOR",
        "Russian Federation": "RUS",
        "United States": "USA",
    }
    assert {(r[0], r[1]): r[2] for r in rows} == {
        (iso3[label], flow): value for (label, flow), value in expected.items()
    }
    assert {r[3:] for r in rows} == {(dt.date(2026, 1, 1), dt.date(2026, 2, 1), 2)}


def test_the_cross_check_reports_the_one_deliberate_disagreement(sample_run: SampleRun) -> None:
    warnings = sample_run.first.warnings  # type: ignore[attr-defined]
    assert [w.split(":")[0] for w in warnings] == ["KOR import 2025-04", "KOR total 2025-04"]
    assert "detailed 14,949,790,048 USD vs preliminary 15,129,200,000" in warnings[0]
    compared = query(
        sample_run.warehouse,
        "select count(*), count(*) filter (where within_tolerance) "
        "from marts.preliminary_cross_check",
    )
    [(total, agreeing)] = compared
    assert total > 100 and agreeing == total - 2


def test_lineage_adds_up_to_each_figure(sample_run: SampleRun) -> None:
    mismatches = query(
        sample_run.warehouse,
        """
        select m.period, m.partner_iso3, m.flow
        from marts.trade_monthly m
        left join (
            select period, partner_iso3, flow, sum(value_usd) as value_usd
            from marts.trade_monthly_sources group by all
        ) s using (period, partner_iso3, flow)
        where m.flow <> 'total' and s.value_usd is distinct from m.value_usd
        """,
    )
    assert mismatches == []


def test_the_commodity_story(sample_run: SampleRun) -> None:
    top = query(
        sample_run.warehouse,
        """
        select flow, arg_max(hs_code, value_usd) from (
            select flow, hs_code, sum(value_usd) as value_usd
            from marts.trade_by_commodity_monthly
            where partner_iso3 = 'PRK' and hs_level = 4 and year(period) = 2025
            group by all
        ) group by flow order by flow
        """,
    )
    assert top == [("export", "6703"), ("import", "6704")]


def test_a_second_run_does_no_work_and_changes_nothing(sample_run: SampleRun) -> None:
    assert len(sample_run.first.loaded) == sample_run.first.releases_seen > 100
    assert sample_run.second.loaded == []
    assert sample_run.second.published is False
    assert len(sample_run.second.skipped) == sample_run.first.releases_seen
    assert marts_snapshot(sample_run.warehouse) == sample_run.marts_after_first
    [(runs,)] = query(sample_run.warehouse, "select count(*) from meta.runs")
    assert runs == 1


def test_ingesting_a_real_format_export_gives_its_dollar_sum(
    prefect_harness: None, where: Where
) -> None:
    export = FIXTURES / "exports" / "en_import_201810_ceuta.csv"
    with export.open(newline="", encoding="utf-8") as handle:
        file_total = sum(int(row["US dollar"].replace(",", "")) for row in csv.DictReader(handle))
    build_warehouse(None, None, [str(export)], "import")  # no warehouse yet: created
    rows = query(
        where,
        "select partner_code, flow, value_usd from marts.trade_monthly "
        "where period = date '2018-10-01' order by flow",
    )
    assert rows == [("210", "import", file_total), ("210", "total", file_total)]


def test_a_bad_file_is_rejected_and_the_rest_still_loads(
    prefect_harness: None, tmp_path: Path, where: Where
) -> None:
    landing = tmp_path / "landing"
    good = landing / "import" / "2018-10" / "ceuta.csv"
    good.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "exports" / "en_import_201810_ceuta.csv", good)
    bad = landing / "import" / "2018-10" / "broken.csv"
    bad.write_text(good.read_text(encoding="utf-8").replace('"1,161"', '"1,16x"'), encoding="utf-8")
    with pytest.raises(RejectedReleasesError) as caught:
        build_warehouse(str(landing))
    assert "import/2018-10/broken.csv, row 3, field 'US dollar'" in str(caught.value)
    statuses = query(where, "select source_name, status from meta.releases order by 1")
    assert statuses == [
        ("import/2018-10/broken.csv", "rejected"),
        ("import/2018-10/ceuta.csv", "loaded"),
    ]
    [(rows,)] = query(where, "select count(*) from core.trade_detailed")
    assert rows == 5


def run_example(where: Where, name: str) -> list[tuple]:
    return query(where, (PROJECT_DIR / "sql" / "examples" / name).read_text(encoding="utf-8"))


def test_example_queries_answer_the_articles_questions(sample_run: SampleRun) -> None:
    half = {row[0]: row for row in run_example(sample_run.warehouse, "half_year_change.sql")}
    assert half["total"][3] == pytest.approx(30.0, abs=1.0)
    assert half["total"][4] == 6
    top = run_example(sample_run.warehouse, "top_commodities_each_way.sql")
    assert [(flow, code) for flow, rank, code, *_ in top if rank == 1] == [
        ("export", "6703"),
        ("import", "6704"),
    ]
    years = run_example(sample_run.warehouse, "yearly_series.sql")
    # 2013-2021: the constructed long series; 2022-2025 as before.
    assert [(year, months) for year, _, _, months in years] == [
        (year, 12) for year in range(2013, 2026)
    ]
    by_year = {year: value for year, value, _, _ in years}
    assert by_year[2022] == 1_027_720_000  # the published 2022 total, exact in the sample
    assert by_year[2025] == pytest.approx(2.73e9, rel=0.02)


def test_commodity_half_years_add_up_to_the_half_year_mart(sample_run: SampleRun) -> None:
    mismatches = query(
        sample_run.warehouse,
        """
        select h.year, h.half, h.partner_iso3, h.flow
        from marts.trade_half_year h
        left join (
            select year, half, partner_iso3, flow, sum(value_usd) as value_usd
            from marts.trade_by_commodity_half_year
            where hs_level = 2  -- every partner's data reaches 2 digits
            group by all
        ) c using (year, half, partner_iso3, flow)
        where h.flow <> 'total' and h.source_kind = 'detailed'
          and c.value_usd is distinct from h.value_usd
        """,
    )
    assert mismatches == []


def test_freshness_says_data_as_of(sample_run: SampleRun) -> None:
    rows = query(
        sample_run.warehouse,
        "select flow, strftime(latest_period, '%Y-%m'), strftime(latest_detailed_period, "
        "'%Y-%m'), releases_loaded, releases_rejected, preliminary_tables_loaded "
        "from meta.freshness order by flow",
    )
    # January-February 2026 is known from a preliminary table only.
    assert [row[:3] + row[4:] for row in rows] == [
        ("export", "2026-02", "2025-12", 0, 14),
        ("import", "2026-02", "2025-12", 0, 14),
    ]
    detailed = sum(row[3] for row in rows)
    assert detailed + rows[0][5] == sample_run.first.releases_seen  # type: ignore[attr-defined]


def test_the_long_series_from_the_2013_peak(sample_run: SampleRun) -> None:
    """The yearly mart tells the whole arc and the report names it from the marts."""
    years = dict(
        query(
            sample_run.warehouse,
            "select year, value_usd from marts.trade_yearly "
            "where partner_iso3 = 'PRK' and flow = 'total' and months_covered = 12",
        )
    )
    assert years[2013] == pytest.approx(6.54e9, rel=0.005)
    assert years[2017] == pytest.approx(5.06e9, rel=0.005)
    assert years[2020] == pytest.approx(539e6, rel=0.005)
    assert years[2021] == pytest.approx(318e6, rel=0.005)
    assert max(years, key=years.__getitem__) == 2013
    con = sample_run.warehouse.connect()
    try:
        paragraph = report.article(con, "PRK", report.HalfYear(2025, "H1"))
    finally:
        con.close()
    fall = 100 * (years[2018] - years[2017]) / years[2017]
    assert (
        f"China's trade with Korea,DPR peaked in 2013 at {report.money(years[2013])}; after the "
        "UN measures of 2017 (the last, resolution 2397, adopted 2017-12-22) it fell from "
        f"{report.money(years[2017])} in 2017 to {report.money(years[2018])} in 2018 "
        f"({fall:+.1f}%); its low since then: {report.money(years[2021])} in 2021"
    ) in paragraph
    assert "$6.54 billion" in paragraph
    # What each side ships, by chapter as reporters name it: plastics, furniture and bedding,
    # fertiliser and cereals (rice) from China; wigs and eyelashes (67) from the DPRK.
    by_chapter = [line for line in paragraph.splitlines() if line.startswith("  By chapter: ")]
    exported, imported = (re.findall(r"(?:: |; )(\d\d) ", line) for line in by_chapter)
    assert exported[:2] == ["39", "94"] and {"31", "10"} <= set(exported)
    assert imported[0] == "67"
    # The 2025 story is unchanged.
    assert paragraph.startswith(
        "China's trade with Korea,DPR in H1 2025 (6 of 6 months): $1.26 billion, +30.0% on a "
        "year earlier."
    )


def test_the_revised_vintage_in_the_sample(sample_run: SampleRun) -> None:
    rows = query(
        sample_run.warehouse,
        "select period, flow, value_usd_before, value_usd_after, change_usd, "
        "published_on_before, published_on_after from marts.trade_revisions "
        "where partner_iso3 = 'PRK'",
    )
    [(period, flow, before, after, change, first, final)] = rows
    assert (period, flow, change) == (dt.date(2017, 12, 1), "import", 1_250_000)
    assert after - before == 1_250_000
    assert (first, final) == (dt.date(2018, 1, 23), dt.date(2018, 9, 30))
    with EXPECTED_TOTALS.open(newline="", encoding="utf-8") as handle:
        [expected] = [
            int(r["value"])
            for r in csv.DictReader(handle)
            if (r["period"], r["partner_code"], r["flow"]) == ("2017-12", "109", "import")
        ]
    assert after == expected  # the latest vintage is what the marts show
    revised = sample_run.first.revisions  # type: ignore[attr-defined]
    assert any(line.startswith("2017-12 PRK import (detailed export") for line in revised)
    assert sample_run.second.revisions == []  # type: ignore[attr-defined]


def test_end_use_rows_add_up_to_every_half_year(sample_run: SampleRun) -> None:
    mismatches = query(
        sample_run.warehouse,
        """
        select h.year, h.half, h.partner_iso3, h.flow, h.value_usd, e.value_usd
        from marts.trade_half_year h
        left join (
            select year, half, partner_iso3, flow, sum(value_usd) as value_usd
            from marts.trade_by_end_use_half_year group by all
        ) e using (year, half, partner_iso3, flow)
        where h.flow <> 'total' and h.source_kind = 'detailed'
          and e.value_usd is distinct from h.value_usd
        """,
    )
    assert mismatches == []
    # The DPRK's 8-digit years are classified; the 4- and 2-digit partners are not.
    allocations = dict(
        query(
            sample_run.warehouse,
            "select partner_iso3, list(distinct allocation order by allocation) "
            "from marts.trade_by_end_use_half_year where year = 2025 group by all",
        )
    )
    assert allocations["USA"] == allocations["KOR"] == ["below_6_digits"]
    assert "one_category" in allocations["PRK"]


def test_the_html_report_of_a_partner_with_a_yuan_table(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    """The United States' June 2025 yuan figures come from the CNY preliminary table: the
    sources list shows them in yuan (never converted), rather than failing on no dollars."""
    from customs_etl.report.html import write_html_report

    con = sample_run.warehouse.connect()
    try:
        files = write_html_report(con, "USA", report.HalfYear(2025, "H1"), tmp_path)
        [(cny,)] = con.execute(
            "select value from marts.trade_monthly_sources where partner_iso3 = 'USA' "
            "and currency = 'CNY' and period = '2025-06-01' and flow = 'export'"
        ).fetchall()
    finally:
        con.close()
    sources = files.html.read_text(encoding="utf-8").split("<h2>Sources</h2>", 1)[1]
    assert f"({cny:,} CNY)" in sources
