"""How figures are written, each rule once: US dollars, whole numbers, percentages and changes.

Every reader of the marts (the report's text and HTML page, its charts, the run's Prefect
artifacts, the CLI's tables) formats through here. Where two readers deliberately differ (prose
against a chart label, an empty table cell against 'n/a'), both rules are here, by name.
"""

from __future__ import annotations


def money(value: float | int | None) -> str:
    """Dollars in prose: '$1.23 billion', '$45.6 million', '$7,890'."""
    if value is None:
        return "n/a"
    value = float(value)
    if abs(value) >= 1e9:
        return f"${value / 1e9:,.2f} billion"
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.1f} million"
    return f"${value:,.0f}"


def short_money(value: int | None) -> str:
    """Dollars on a chart label, where room is short: '$1.23bn', '$45.6m', '$7,890'."""
    if value is None:
        return "n/a"
    if abs(value) >= 1e9:
        return f"${value / 1e9:,.2f}bn"
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.1f}m"
    return f"${value:,}"


def unit_price(price: float) -> str:
    """A price per unit: cents for most goods, four decimals below a dollar (electricity:
    $0.0551 per kWh)."""
    shown = f"{price:,.2f}" if price >= 1 else f"{price:.4f}"
    return f"${shown}"


def whole(value: int | None, missing: str = "") -> str:
    """A whole number as the tables show it, thousands grouped: '1,234,567'."""
    return missing if value is None else f"{value:,}"


def signed_whole(value: int | None, missing: str = "") -> str:
    """A difference of whole numbers, always signed: '+10,000', '-250'."""
    return missing if value is None else f"{value:+,}"


def percent(value: float | None, missing: str = "n/a", digits: int = 1) -> str:
    """A change in percent, always signed: '+12.3%' ('+0.81%' with two digits)."""
    return missing if value is None else f"{value:+.{digits}f}%"


def pct_change(before: float | int | None, after: float | int | None) -> str:
    """The change from before to after in percent; 'n/a' without a base to compare with."""
    if not before or after is None:
        return "n/a"
    return percent(100.0 * (after - before) / before)


def change(pct: float | None) -> str:
    """A year-on-year change in prose."""
    if pct is None:
        return "no comparable figure a year earlier"
    return f"{percent(pct)} on a year earlier"


def share(pct: float | None) -> str:
    """A part of a whole in percent, two decimals, unsigned; none counts as 0."""
    return f"{0.0 if pct is None else pct:.2f}%"


def axis_tick(value: float) -> str:
    """A number on a scaled axis: '1,500', '2.5'."""
    return f"{value:,g}"


def axis_scale(largest: float | int | None) -> tuple[float, str]:
    """The divisor and label of a dollar axis reaching `largest`: 'US$ billions', ..."""
    largest = largest or 0
    if largest >= 1e9:
        return 1e9, "US$ billions"
    if largest >= 1e6:
        return 1e6, "US$ millions"
    if largest >= 1e3:
        return 1e3, "US$ thousands"
    return 1, "US$"
