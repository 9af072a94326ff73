"""Figures are written one way everywhere (report/formatting.py); where two readers differ on
purpose (prose against a chart label, a blank table cell against 'n/a'), each rule is named."""

from __future__ import annotations

from customs_etl.report import formatting as fmt


def test_money_in_prose_and_on_chart_labels() -> None:
    """Catches the article and the charts drifting apart in how they scale dollars."""
    cases = [
        (2_531_000_000, "$2.53 billion", "$2.53bn"),
        (75_000_000, "$75.0 million", "$75.0m"),
        (182_000, "$182,000", "$182,000"),
        (None, "n/a", "n/a"),
    ]
    for value, prose, label in cases:
        assert (fmt.money(value), fmt.short_money(value)) == (prose, label), value


def test_changes_and_shares() -> None:
    """Catches a sign, a rounding or the wording of a missing comparison changing."""
    assert fmt.percent(30.0) == "+30.0%" and fmt.percent(-0.04) == "-0.0%"
    assert fmt.percent(0.806, digits=2) == "+0.81%"
    assert fmt.percent(None) == "n/a" and fmt.percent(None, missing="") == ""
    assert fmt.change(25.0) == "+25.0% on a year earlier"
    assert fmt.change(None) == "no comparable figure a year earlier"
    assert fmt.pct_change(5_060_000_000, 2_430_000_000) == "-52.0%"
    assert fmt.pct_change(0, 10) == "n/a" and fmt.pct_change(None, 10) == "n/a"
    assert fmt.share(12.345) == "12.35%" and fmt.share(None) == "0.00%"


def test_whole_numbers_prices_and_axes() -> None:
    """Catches table cells, unit prices or axis labels losing their grouping or scale."""
    assert fmt.whole(36_632_800_000) == "36,632,800,000" and fmt.whole(None) == ""
    assert fmt.signed_whole(10_000) == "+10,000" and fmt.signed_whole(-250) == "-250"
    assert fmt.unit_price(1_234.5) == "$1,234.50" and fmt.unit_price(0.0551) == "$0.0551"
    assert fmt.axis_tick(1500.0) == "1,500" and fmt.axis_tick(2.5) == "2.5"
    assert fmt.axis_scale(6_540_000_000) == (1e9, "US$ billions")
    assert fmt.axis_scale(52_000_000) == (1e6, "US$ millions")
    assert fmt.axis_scale(9_999) == (1e3, "US$ thousands")
    assert fmt.axis_scale(None) == (1, "US$")
