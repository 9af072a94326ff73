"""The preliminary_table suite (expectations/expectations/preliminary_table.json) over a real
table's rows: what it refuses, and what it only warns about."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from support import FIXTURES, PROJECT_DIR, SEEDS_DIR

from customs_etl import seeds
from customs_etl.transform import canonical
from customs_etl.transform.preliminary_tables import parse_preliminary_table
from customs_etl.validate import preliminary_checks as checks
from customs_etl.validate.expectations import ValidationOutcome, validate_preliminary_table

EXPECTATIONS = PROJECT_DIR / "expectations"
MARCH = dt.date(2026, 3, 1)


def preliminary_rows(name: str = "prelim_202603_usd.html") -> pl.DataFrame:
    table = parse_preliminary_table((FIXTURES / "preliminary" / name).read_bytes(), name)
    return canonical.to_preliminary_rows(
        table.frame, "r1", seeds.partners(SEEDS_DIR), seeds.preliminary_labels(SEEDS_DIR)
    )


def validate(frame: pl.DataFrame, neighbours: pl.DataFrame | None = None) -> ValidationOutcome:
    neighbours = (
        neighbours if neighbours is not None else pl.DataFrame(schema=checks.NEIGHBOUR_SCHEMA)
    )
    return validate_preliminary_table(
        checks.preliminary_checks(frame, neighbours),
        release_period=MARCH,
        currency="USD",
        rounding=checks.TABLE_ROUNDING["USD"],
        context_dir=EXPECTATIONS,
    )


def usa(flow: str) -> pl.Expr:
    return (pl.col("partner_label") == "United States") & (pl.col("flow") == flow)


def test_a_real_table_meets_every_expectation() -> None:
    outcome = validate(preliminary_rows())
    assert outcome.success and outcome.failures == ()
    assert outcome.evaluated_expectations == 15


def test_a_total_that_is_not_exports_plus_imports_is_refused() -> None:
    frame = preliminary_rows().with_columns(
        value_ytd=pl.when(usa("total")).then(pl.col("value_ytd") + 1_000_000).otherwise("value_ytd")
    )
    outcome = validate(frame)
    assert not outcome.success
    [failure] = outcome.refusals
    assert failure.column == "total_minus_parts_ytd"
    assert failure.sample_values == [1_000_000]
    assert "within the table's rounding (150000)" in failure.message()


def test_an_unknown_partner_label_is_refused() -> None:
    frame = preliminary_rows().with_columns(
        partner_label=pl.when(pl.col("partner_label") == "Japan")
        .then(pl.lit("Atlantis"))
        .otherwise("partner_label")
    )
    frame = canonical.to_preliminary_rows(
        frame.drop("release_id", "period_start", "label_kind", "partner_code"),
        "r1",
        seeds.partners(SEEDS_DIR),
        seeds.preliminary_labels(SEEDS_DIR),
    )
    [failure] = validate(frame).refusals
    assert failure.column == "label_kind" and failure.unexpected_count == 3
    # The finding names the label (not "empty", the kind it could not be given), once per row.
    assert failure.sample_values == ["Atlantis"] * 3
    assert "e.g. 'Atlantis' at source row " in failure.message()
    assert "empty" not in failure.message()


def test_january_to_month_may_not_fall_against_either_neighbour() -> None:
    neighbours = pl.DataFrame(
        {
            "key": ["unitedstates", "unitedstates"],
            "flow": ["export", "export"],
            "period": [dt.date(2026, 2, 1), dt.date(2026, 4, 1)],
            # February above March's 101,230.4; April below it.
            "value_ytd": [110_000_000_000, 100_000_000_000],
        },
        schema=checks.NEIGHBOUR_SCHEMA,
    )
    outcome = validate(preliminary_rows(), neighbours)
    assert sorted(f.column for f in outcome.refusals) == [
        "ytd_change_from_previous_table",
        "ytd_excess_over_next_table",
    ]
    by_column = {f.column: f for f in outcome.refusals}
    assert by_column["ytd_change_from_previous_table"].sample_values == [-8_769_600_000]
    assert by_column["ytd_excess_over_next_table"].sample_values == [1_230_400_000]


def test_an_implausible_year_on_year_change_is_only_a_warning() -> None:
    frame = preliminary_rows().with_columns(
        yoy_ytd_pct=pl.when(usa("export")).then(pl.lit(420.0)).otherwise("yoy_ytd_pct")
    )
    outcome = validate(frame)
    assert outcome.success  # the table still loads
    [warning] = outcome.warnings
    assert (warning.column, warning.severity, warning.sample_values) == (
        "yoy_ytd_pct",
        "warning",
        [420.0],
    )


@pytest.mark.parametrize(
    "name", ["prelim_202602_janfeb_usd.html", "prelim_201810_usd_major_country.html"]
)
def test_january_february_and_2018_layouts_pass(name: str) -> None:
    frame = preliminary_rows(name)
    period = frame["period"][0]
    outcome = validate_preliminary_table(
        checks.preliminary_checks(frame, pl.DataFrame(schema=checks.NEIGHBOUR_SCHEMA)),
        release_period=period,
        currency="USD",
        rounding=checks.TABLE_ROUNDING["USD"],
        context_dir=EXPECTATIONS,
    )
    assert outcome.success and not outcome.failures
