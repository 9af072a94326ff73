"""The English preliminary table parser on hand-made pages shaped like GACC's static pages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from customs_etl.errors import ReleaseError
from customs_etl.extract.html import detect_challenge_or_error
from customs_etl.transform.preliminary_tables import (
    SCHEMA,
    looks_like_challenge_or_error,
    parse_preliminary_table,
)

PRELIMINARY = Path(__file__).resolve().parent / "fixtures" / "preliminary"
TABLES = {
    "prelim_202603_usd.html": (date(2026, 3, 1), 1, "USD", 4),
    "prelim_202603_cny.html": (date(2026, 3, 1), 1, "CNY", 4),
    "prelim_202602_janfeb_usd.html": (date(2026, 2, 1), 2, "USD", 4),
    "prelim_201810_usd_major_country.html": (date(2018, 10, 1), 1, "USD", 4),
    "prelim_202106_cny_table3.html": (date(2021, 6, 1), 1, "CNY", 3),
}
# One unit of the last printed digit: 0.1 USD million, 0.01 CNY 100 million.
ROUNDING = {"USD": 100_000, "CNY": 1_000_000}


def parse(name: str):
    return parse_preliminary_table((PRELIMINARY / name).read_bytes(), name)


def text_of(name: str) -> str:
    return (PRELIMINARY / name).read_text(encoding="utf-8")


def value(frame: pl.DataFrame, partner: str, flow: str, column: str) -> object:
    row = frame.filter((pl.col("partner_label") == partner) & (pl.col("flow") == flow))
    assert row.height == 1, (partner, flow)
    return row[column][0]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_parses_with_its_period_coverage_and_currency(name: str) -> None:
    period, months_covered, currency, number = TABLES[name]
    table = parse(name)
    assert (table.period, table.months_covered, table.currency) == (
        period,
        months_covered,
        currency,
    )
    assert table.table_number == number
    assert dict(table.frame.schema) == SCHEMA
    assert table.frame["period"].unique().to_list() == [period]
    assert table.frame["months_covered"].unique().to_list() == [months_covered]
    assert table.frame["currency"].unique().to_list() == [currency]
    assert table.frame.height == 11 * 3  # eleven partner rows, three flows each
    assert table.frame["flow"].to_list()[:3] == ["total", "export", "import"]
    assert table.frame["value_ytd"].null_count() == 0


@pytest.mark.parametrize("name", sorted(TABLES))
def test_fixture_figures_are_internally_consistent(name: str) -> None:
    """Total = export + import within rounding, and a month never exceeds January-to-month."""
    table = parse(name)
    wide = table.frame.pivot(on="flow", index="partner_label", values="value_ytd")
    gap = (wide["total"] - wide["export"] - wide["import"]).abs()
    assert gap.max() <= ROUNDING[table.currency]
    if table.months_covered == 1:
        assert table.frame.filter(pl.col("value_month") > pl.col("value_ytd")).is_empty()
        monthly = table.frame.pivot(on="flow", index="partner_label", values="value_month")
        gap = (monthly["total"] - monthly["export"] - monthly["import"]).abs()
        assert gap.max() <= ROUNDING[table.currency]


def test_usd_month_values_are_exact_whole_dollars() -> None:
    table = parse("prelim_202603_usd.html")
    frame = table.frame
    assert table.title == (
        "(4) China's Total Export & Import Values by Country/Region, Mar 2026 (in USD)"
    )
    assert table.unit == "Unit: USD1 Million"
    # "1,234.5" in USD1 Million is 1,234,500,000 dollars, computed without floats.
    assert value(frame, "New Zealand", "export", "value_month") == 1_234_500_000
    assert value(frame, "Total", "export", "value_month") == 313_912_400_000
    assert value(frame, "Total", "export", "value_ytd") == 861_450_700_000
    assert value(frame, "Total", "total", "value_ytd") == 1_453_569_000_000
    assert value(frame, "Total", "import", "yoy_ytd_pct") == pytest.approx(-0.6)
    assert value(frame, "New Zealand", "import", "yoy_ytd_pct") is None  # printed "-"
    # Labels as printed, the &nbsp; indentation of sub-items stripped.
    assert frame["partner_label"].unique(maintain_order=True).to_list() == [
        "Total",
        "Asia",
        "Japan",
        "Korea, Rep.",
        "ASEAN",
        "Africa",
        "EU",
        "Russian Federation",
        "Latin America",
        "United States",
        "New Zealand",
    ]
    # source_row is the <tr> position: title, unit and two header rows come first.
    assert value(frame, "Total", "total", "source_row") == 5
    assert value(frame, "New Zealand", "import", "source_row") == 15


def test_cny_month_in_hundred_millions_with_rmb_in_the_title() -> None:
    table = parse("prelim_202603_cny.html")
    assert table.currency == "CNY"
    assert "(in RMB)" in table.title
    assert table.unit == "Unit: CNY 100 Million"
    # "12.34" in CNY 100 Million is 1,234,000,000 yuan.
    assert value(table.frame, "Mongolia", "export", "value_month") == 1_234_000_000
    assert value(table.frame, "Total", "total", "value_ytd") == 10_320_340_000_000
    assert value(table.frame, "Mongolia", "import", "yoy_ytd_pct") is None  # empty cell


def test_january_february_release_is_one_two_month_period() -> None:
    janfeb = parse("prelim_202602_janfeb_usd.html")
    assert (janfeb.period, janfeb.months_covered) == (date(2026, 2, 1), 2)
    assert janfeb.frame["value_month"].null_count() == janfeb.frame.height
    assert value(janfeb.frame, "Total", "total", "yoy_ytd_pct") == pytest.approx(2.4)
    # The fixtures agree across releases: January-February + March = January-March.
    march = parse("prelim_202603_usd.html").frame.filter(pl.col("flow") != "total")
    joined = march.join(
        janfeb.frame.select("partner_label", "flow", janfeb_ytd="value_ytd"),
        on=["partner_label", "flow"],
    )
    assert joined.height == march.height
    assert (joined["value_ytd"] - joined["value_month"] == joined["janfeb_ytd"]).all()


def test_variants_2018_wording_and_table_number_three() -> None:
    old = parse("prelim_201810_usd_major_country.html")
    assert "by Major Country (Region), Oct 2018" in old.title
    assert value(old.frame, "Korea, Rep.", "import", "value_month") > 0
    renumbered = parse("prelim_202106_cny_table3.html")
    assert renumbered.title.startswith("(3) ")
    assert renumbered.unit == "Unit：CNY 100 Million"  # full-width colon


def test_html_as_text_or_bytes_gives_the_same_frame() -> None:
    name = "prelim_202603_usd.html"
    from_text = parse_preliminary_table(text_of(name), name).frame
    assert from_text.equals(parse(name).frame)


def test_mismatched_currency_signals_are_rejected_naming_both() -> None:
    name = "prelim_202506_currency_mismatch.html"
    with pytest.raises(ReleaseError) as caught:
        parse(name)
    error = caught.value
    assert error.file == name
    assert error.field == "currency"
    message = str(error)
    assert name in message
    assert "(in CNY)" in message and "Unit: USD1 Million" in message


def test_missing_marks_give_null_and_bad_cells_name_row_and_field() -> None:
    name = "prelim_202603_usd.html"
    dashed = parse_preliminary_table(text_of(name).replace(">1,234.5<", ">-<"), name)
    assert value(dashed.frame, "New Zealand", "export", "value_month") is None

    with pytest.raises(ReleaseError) as caught:
        parse_preliminary_table(text_of(name).replace(">1,234.5<", ">1,234.5x<"), name)
    assert (caught.value.row, caught.value.field) == (15, "Export, month")
    assert caught.value.found == "1,234.5x"


def test_a_row_with_a_missing_cell_is_rejected() -> None:
    name = "prelim_202603_usd.html"
    html = text_of(name)
    start = html.index("New Zealand")
    cell_end = html.index("</td>", html.index("<td", start)) + len("</td>")
    broken = html[: html.index("<td", start)] + html[cell_end:]
    with pytest.raises(ReleaseError) as caught:
        parse_preliminary_table(broken, name)
    assert caught.value.row == 15
    assert "9 cells" in str(caught.value)


def test_layout_and_title_period_must_agree() -> None:
    name = "prelim_202602_janfeb_usd.html"
    wrong = text_of(name).replace("Jan-Feb 2026", "Mar 2026")
    with pytest.raises(ReleaseError, match="January-February release"):
        parse_preliminary_table(wrong, name)
    name = "prelim_202603_usd.html"
    with pytest.raises(ReleaseError, match="one month, not a range"):
        parse_preliminary_table(text_of(name).replace("Mar 2026", "Jan-Mar 2026"), name)


def test_challenge_error_and_other_pages_are_told_apart() -> None:
    challenge = (PRELIMINARY / "challenge_412.html").read_bytes()
    reason = looks_like_challenge_or_error(challenge, "text/html; charset=utf-8")
    assert reason is not None and "challenge" in reason
    with pytest.raises(ReleaseError, match="no preliminary table title"):
        parse_preliminary_table(challenge, "challenge_412.html")

    error_page = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
    assert "error page" in (looks_like_challenge_or_error(error_page, "text/html") or "")
    assert looks_like_challenge_or_error(b"", "text/html") == "the body is empty"
    assert "content type" in (looks_like_challenge_or_error(b'{"a": 1}', "application/json") or "")

    # An index page names the table in its links but is not the table.
    index = (PRELIMINARY / "index.html").read_bytes()
    assert "not a preliminary table page" in (looks_like_challenge_or_error(index, None) or "")
    assert detect_challenge_or_error(index, "text/html") is None

    for name in TABLES:
        assert looks_like_challenge_or_error((PRELIMINARY / name).read_bytes(), "text/html") is None


def test_title_copies_may_spell_the_month_differently_but_must_agree() -> None:
    name = "prelim_202603_usd.html"
    html = text_of(name)
    # The <title> copy spells the month out: still the same period.
    spelled = html.replace(
        "Region, Mar 2026 (in USD)</title>", "Region, March 2026 (in USD)</title>"
    )
    assert parse_preliminary_table(spelled, name).period == date(2026, 3, 1)
    other = html.replace("Region, Mar 2026 (in USD)</title>", "Region, Apr 2026 (in USD)</title>")
    with pytest.raises(ReleaseError, match="different titles"):
        parse_preliminary_table(other, name)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A CSV export whose commodity names look like tags is not a page.
        ('"202505","37024490","Film, 105mm<w.≤610mm","<c.≤150cm"\n'.encode(), None),
        (b"<HTML><TITLE>502 Bad Gateway</TITLE></HTML>", "an error page"),
        (b"<html><H2 class=x>Service Unavailable</H2>", "an error page"),
        (b"<html><body><SCRIPT>var a = 1;</SCRIPT></body></html>", "a script-only page"),
    ],
)
def test_only_pages_with_title_heading_or_script_tags_are_parsed_as_html(
    body: bytes, expected: str | None
) -> None:
    """detect_challenge_or_error skips the HTML parse when no tag it reads is present (every
    CSV export is checked); upper-case tags must still be seen."""
    reason = detect_challenge_or_error(body, None)
    assert reason is None if expected is None else (reason or "").startswith(expected)
