"""Detailed totals against the preliminary tables (marts.preliminary_cross_check): each
disagreement is a warning with both figures, never a refusal and never averaged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Disagreement:
    """Detailed data and a preliminary table disagreeing beyond the tolerance."""

    partner: str  # ISO 3166 alpha-3
    flow: str
    month: str  # "YYYY-MM", or "YYYY-MM..YYYY-MM" for a January-February table
    currency: str
    value_detailed: int
    value_preliminary: int
    difference_pct: float
    tolerance: int
    source: str  # the preliminary table's name or URL

    def text(self) -> str:
        return (
            f"{self.partner} {self.flow} {self.month}: detailed {self.value_detailed:,} "
            f"{self.currency} vs preliminary {self.value_preliminary:,} "
            f"({self.difference_pct:+.2f}%, tolerance {self.tolerance:,}) in {self.source}"
        )


def disagreements(cross_check: pl.DataFrame) -> list[Disagreement]:
    """The rows of marts.preliminary_cross_check outside the tolerance."""
    return [
        Disagreement(
            partner=row["partner_iso3"],
            flow=row["flow"],
            month=_span(row),
            currency=row["currency"],
            value_detailed=row["value_detailed"],
            value_preliminary=row["value_preliminary"],
            difference_pct=row["difference_pct"],
            tolerance=row["tolerance"],
            source=row["preliminary_source_name"],
        )
        for row in cross_check.filter(~pl.col("within_tolerance")).iter_rows(named=True)
    ]


def cross_check_warnings(cross_check: pl.DataFrame) -> list[str]:
    """One line per disagreement of marts.preliminary_cross_check, with both figures."""
    return [d.text() for d in disagreements(cross_check)]


def _span(row: dict[str, object]) -> str:
    start, end = row["period"], row["period_end"]
    assert isinstance(start, dt.date) and isinstance(end, dt.date)
    return f"{start:%Y-%m}" if start == end else f"{start:%Y-%m}..{end:%Y-%m}"
