"""The HTML report's monthly chart: the last 36 months with figures (or those up to an earlier
half reported), and a change on a year earlier only against a month that has a figure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support import export_file, load

from customs_etl.load import connection
from customs_etl.publish import build as publication
from customs_etl.report.html import write_html_report
from customs_etl.report.queries import MONTHLY_WINDOW, monthly_series
from customs_etl.report.text import HalfYear

HAIR = "67030000"
MISSING = dt.date(2022, 5, 1)  # no file for May 2022: May 2023 has nothing to compare with


def months() -> list[dt.date]:
    every = [dt.date(year, month, 1) for year in range(2021, 2025) for month in range(1, 13)]
    return [month for month in every if month != MISSING]


def exports(month: dt.date) -> int:
    """China's exports to the DPRK: 2021 tiny (as in the sample's long series), then millions."""
    if month.year == 2021:
        return 1_000 + month.month
    return 10_000_000 + 100_000 * ((month.year - 2022) * 12 + month.month)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("monthly_window")
    landing = root / "landing"
    files = [
        export_file(
            landing / "export" / f"{m:%Y-%m}", "a.csv", f"{m:%Y%m}", [("109", HAIR, exports(m))]
        )
        for m in months()
    ]
    path = root / "customs.duckdb"
    build = publication.start_build(path)
    load(build, landing, files, root / "staging")
    publication.publish(build, path)
    opened = connection.connect(path, read_only=True)
    yield opened
    opened.close()


def yoy(frame: pl.DataFrame, month: dt.date) -> float | None:
    rows = [r for r in frame.iter_rows(named=True) if r["period"] == month]
    assert len(rows) == 1, month
    return rows[0]["yoy_pct"]


def test_the_chart_keeps_the_last_36_months_with_figures(con: duckdb.DuckDBPyConnection) -> None:
    frame = monthly_series(con, "PRK", HalfYear.parse("2024H2"))
    assert MONTHLY_WINDOW == 36
    shown = sorted(frame["period"].unique())
    # 2024 and 2023 (24 months), 2022 without May (11) and December 2021.
    assert len(shown) == 36 and frame["flow"].unique().to_list() == ["export"]
    assert (shown[0], shown[-1]) == (dt.date(2021, 12, 1), dt.date(2024, 12, 1))
    assert MISSING not in shown


def test_a_change_is_only_against_a_month_with_a_figure(con: duckdb.DuckDBPyConnection) -> None:
    frame = monthly_series(con, "PRK", HalfYear.parse("2024H2"))
    may, june = dt.date(2023, 5, 1), dt.date(2023, 6, 1)
    assert yoy(frame, may) is None  # May 2022 is missing
    # June 2023 against June 2022: 11,800,000 against 10,600,000.
    assert yoy(frame, june) == round(100 * (11_800_000 - 10_600_000) / 10_600_000, 1) == 11.3
    # December 2021 is shown, but 2020 has no figures to compare with.
    assert yoy(frame, dt.date(2021, 12, 1)) is None
    assert frame["yoy_pct"].null_count() == 2


def test_an_earlier_half_starts_the_window(con: duckdb.DuckDBPyConnection) -> None:
    # H1 2021 is before the last 36 months (December 2021 on): the chart starts with it.
    frame = monthly_series(con, "PRK", HalfYear.parse("2021H1"))
    shown = sorted(frame["period"].unique())
    # 2021 (12 months), 2022 without May (11), 2023 (12) and January 2024.
    assert (len(shown), shown[0], shown[-1]) == (36, dt.date(2021, 1, 1), dt.date(2024, 1, 1))
    # A half inside the last 36 months leaves them as they are.
    later = monthly_series(con, "PRK", HalfYear.parse("2022H1"))
    assert sorted(later["period"].unique()) == sorted(
        monthly_series(con, "PRK", HalfYear.parse("2024H2"))["period"].unique()
    )


def test_the_page_says_what_the_monthly_chart_spans(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    files = write_html_report(con, "PRK", HalfYear.parse("2024H2"), tmp_path)
    page = files.html.read_text(encoding="utf-8")
    chart = re.search(r'<figure id="monthly-chart">(.*?)</figure>', page, re.DOTALL)
    assert chart is not None
    title = "China's monthly trade with Korea,DPR, Dec 2021 – Dec 2024 (36 months with figures)"
    assert title in chart.group(1)
    assert "<figcaption>The last 36 months with figures" in chart.group(1)
    # The yearly chart keeps every year.
    yearly = re.search(r'<figure id="yearly-chart">(.*?)</figure>', page, re.DOTALL)
    assert yearly is not None and "by year, 2021–2024" in yearly.group(1)
