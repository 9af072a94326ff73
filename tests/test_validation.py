"""The detailed_trade suite in expectations/, run through validate/expectations.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from support import PROJECT_DIR

from customs_etl.transform.canonical import CANONICAL_SCHEMA
from customs_etl.validate.expectations import (
    ExpectationFailure,
    ReleaseFrame,
    ValidationOutcome,
    run_suite,
    validate_detailed_trade,
    validate_detailed_trade_batch,
)

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
PERIOD = dt.date(2024, 3, 1)
PARTNERS = ["109", "110", "116", "133", "142", "143", "304", "305", "502", "601"]
REGIMES = ["10", "14", "15", "19", "33"]


@pytest.fixture(scope="module")
def context_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real GX project, copied so that test runs leave no validation results in the repo."""
    target = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


def valid_rows() -> list[dict[str, Any]]:
    """A dozen export rows of March 2024 at HS 4, one per grain, some without regime or place."""
    rows = []
    for i, (partner, hs_code) in enumerate(
        [(p, h) for p in PARTNERS[:4] for h in ("0101", "8471", "9403")]
    ):
        rows.append(
            {
                "release_id": "0" * 64,
                "source_row": i + 2,
                "period": PERIOD,
                "flow": "export",
                "partner_code": partner,
                "partner_iso3": "XXX",
                "partner_name": "Somewhere",
                "hs_code": hs_code,
                "hs_level": 4,
                "customs_regime_code": None if i % 5 == 0 else REGIMES[i % len(REGIMES)],
                "registration_place_code": None if i % 4 == 0 else "11019",
                "quantity": None if i % 3 == 0 else 10.5 * i,
                "quantity_unit": "Kilogram",
                "supplementary_quantity": 0.0,
                "supplementary_unit": None,
                "value": 1000 * i,
                "currency": "USD",
            }
        )
    return rows


def canonical(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA)


def with_change(source_row: int, **changes: Any) -> pl.DataFrame:
    rows = valid_rows()
    rows[source_row - 2].update(changes)
    return canonical(rows)


def validate(frame: pl.DataFrame, context_dir: Path) -> ValidationOutcome:
    return validate_detailed_trade(
        frame,
        release_period=PERIOD,
        hs_level=4,
        partner_codes=PARTNERS,
        customs_regime_codes=REGIMES,
        context_dir=context_dir,
    )


def only_failure(
    outcome: ValidationOutcome, expectation: str, column: str | None
) -> ExpectationFailure:
    assert outcome.success is False, outcome.summary()
    matching = [f for f in outcome.failures if (f.expectation, f.column) == (expectation, column)]
    assert len(matching) == 1, outcome.summary()
    return matching[0]


def found(failure: ExpectationFailure) -> tuple[int, list[object], list[int]]:
    return failure.unexpected_count, failure.sample_values, failure.sample_rows


def test_a_valid_release_passes_every_expectation(context_dir: Path) -> None:
    outcome = validate(canonical(valid_rows()), context_dir)
    assert outcome.success, outcome.summary()
    assert outcome.failures == ()
    assert outcome.evaluated_expectations >= 20
    assert outcome.summary() == (
        f"detailed_trade: all {outcome.evaluated_expectations} expectations met"
    )


def test_negative_value(context_dir: Path) -> None:
    outcome = validate(with_change(5, value=-1161), context_dir)
    failure = only_failure(outcome, "expect_column_values_to_be_between", "value")
    assert found(failure) == (1, [-1161], [5])
    assert failure.message() == (
        "value: 1 unexpected row(s), e.g. -1161 at source row 5; expected value is zero or more "
        "[expect_column_values_to_be_between]"
    )
    assert len(outcome.failures) == 1


def test_unknown_partner_code(context_dir: Path) -> None:
    outcome = validate(with_change(7, partner_code="999"), context_dir)
    failure = only_failure(outcome, "expect_column_values_to_be_in_set", "partner_code")
    assert (failure.sample_values, failure.sample_rows) == (["999"], [7])
    assert "partner code list" in failure.message()


def test_period_other_than_the_release_period(context_dir: Path) -> None:
    outcome = validate(with_change(3, period=dt.date(2024, 2, 1)), context_dir)
    failure = only_failure(outcome, "expect_column_pair_values_to_be_equal", "period")
    assert (failure.sample_values, failure.sample_rows) == ([dt.date(2024, 2, 1)], [3])
    expected = "e.g. 2024-02-01 at source row 3; expected period is the release's month, 2024-03-01"
    assert expected in failure.message()


@pytest.mark.parametrize(
    ("hs_code", "expectation"),
    [
        ("01A1", "expect_column_values_to_match_regex"),
        ("010", "expect_column_value_lengths_to_equal"),
        ("010121", "expect_column_value_lengths_to_equal"),
    ],
)
def test_hs_code_with_a_letter_or_of_the_wrong_length(
    context_dir: Path, hs_code: str, expectation: str
) -> None:
    outcome = validate(with_change(9, hs_code=hs_code), context_dir)
    failure = only_failure(outcome, expectation, "hs_code")
    assert (failure.sample_values, failure.sample_rows) == ([hs_code], [9])


def test_unknown_customs_regime_code(context_dir: Path) -> None:
    outcome = validate(with_change(4, customs_regime_code="98"), context_dir)
    failure = only_failure(outcome, "expect_column_values_to_be_in_set", "customs_regime_code")
    assert (failure.sample_values, failure.sample_rows) == (["98"], [4])
    assert len(outcome.failures) == 1  # the rows without a regime are not failures


def test_duplicate_grain_rows(context_dir: Path) -> None:
    rows = valid_rows()
    rows.append({**rows[0], "source_row": 99, "value": 5})  # same grain as source row 2
    outcome = validate(canonical(rows), context_dir)
    grain = "period, flow, partner_code, hs_code, customs_regime_code, registration_place_code"
    failure = only_failure(outcome, "expect_compound_columns_to_be_unique", grain)
    assert failure.unexpected_count == 2
    assert sorted(failure.sample_rows) == [2, 99]
    assert failure.sample_values[0]["partner_code"] == "109"  # type: ignore[index]
    assert failure.sample_values[0]["customs_regime_code"] is None  # type: ignore[index]


def test_mixed_currencies(context_dir: Path) -> None:
    outcome = validate(with_change(8, currency="CNY"), context_dir)
    failure = only_failure(outcome, "expect_column_unique_value_count_to_be_between", "currency")
    assert found(failure) == (
        1,
        ["CNY"],
        [8],
    )
    assert len(outcome.failures) == 1  # CNY alone is a valid currency


def test_null_partner(context_dir: Path) -> None:
    outcome = validate(with_change(6, partner_code=None), context_dir)
    failure = only_failure(outcome, "expect_column_values_to_not_be_null", "partner_code")
    assert found(failure) == (1, [None], [6])


def test_missing_column_is_reported_not_raised(context_dir: Path) -> None:
    outcome = validate(canonical(valid_rows()).drop("currency"), context_dir)
    failure = only_failure(outcome, "expect_table_columns_to_match_set", None)
    assert failure.sample_values == ["currency"]
    assert outcome.failures[0] == failure  # listed first: it explains the failures after it
    assert failure.message().startswith("columns: missing 'currency'; expected")


def test_summary_lists_each_failure_on_its_own_line(context_dir: Path) -> None:
    outcome = validate(with_change(5, value=-1, partner_code="999"), context_dir)
    lines = outcome.summary().splitlines()
    assert lines[0] == f"detailed_trade: 2 of {outcome.evaluated_expectations} failed"
    assert any("partner_code: 1 unexpected row(s), e.g. '999' at source row 5" in x for x in lines)


def test_validation_leaves_the_project_files_unchanged(context_dir: Path) -> None:
    def tracked() -> dict[str, str]:
        return {
            str(p.relative_to(context_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(context_dir.rglob("*"))
            if p.is_file() and "uncommitted" not in p.parts
        }

    before = tracked()
    validate(canonical(valid_rows()), context_dir)
    validate(with_change(5, value=-1), context_dir)
    assert tracked() == before
    assert list((context_dir / "uncommitted" / "validations").rglob("*.json"))


def test_importing_the_module_does_not_import_great_expectations() -> None:
    """GX takes seconds to import: the adapter, the job and the CLI import it on first use."""
    code = (
        "import sys, customs_etl.validate.expectations, customs_etl.job, customs_etl.cli; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- batches: one GX run over many releases, one outcome per release ---------------------------


def release(
    number: int, frame: pl.DataFrame, period: dt.date = PERIOD, level: int = 4
) -> ReleaseFrame:
    """A release of the batch: its own id on every row, as staging writes it."""
    return ReleaseFrame(frame.with_columns(release_id=pl.lit(f"{number:064d}")), period, level)


def validate_batch(
    releases: list[ReleaseFrame], context_dir: Path, **options: Any
) -> list[ValidationOutcome]:
    return validate_detailed_trade_batch(
        releases,
        partner_codes=PARTNERS,
        customs_regime_codes=REGIMES,
        context_dir=context_dir,
        **options,
    )


def stored_runs(context_dir: Path) -> int:
    """GX stores one validation result per run."""
    return len(list((context_dir / "uncommitted" / "validations").rglob("*.json")))


def test_one_failing_release_of_a_batch_is_named_with_its_rows(context_dir: Path) -> None:
    bad = with_change(5, value=-1161, partner_code="999")
    releases = [release(n, canonical(valid_rows())) for n in (1, 3)]
    releases.insert(1, release(2, bad))
    runs = stored_runs(context_dir)

    first, second, third = validate_batch(releases, context_dir)

    assert stored_runs(context_dir) == runs + 1  # one GX run for the three releases
    assert first.success and third.success, (first.summary(), third.summary())
    assert first.failures == third.failures == ()
    value = only_failure(second, "expect_column_values_to_be_between", "value")
    assert found(value) == (1, [-1161], [5])
    partner = only_failure(second, "expect_column_values_to_be_in_set", "partner_code")
    assert found(partner) == (1, ["999"], [5])
    assert len(second.failures) == 2
    # Word for word what validating the release alone says.
    assert second.summary() == validate(bad, context_dir).summary()


def test_failing_rows_are_counted_and_sampled_per_release(context_dir: Path) -> None:
    rows = valid_rows()
    for row in rows:
        row["value"] = -row["source_row"]
    many_bad = canonical(rows)
    releases = [release(1, with_change(9, value=-7)), release(2, many_bad)]

    one, many = validate_batch(releases, context_dir)

    assert found(only_failure(one, "expect_column_values_to_be_between", "value")) == (
        1,
        [-7],
        [9],
    )
    assert found(only_failure(many, "expect_column_values_to_be_between", "value")) == (
        12,
        [-2, -3, -4, -5, -6],
        [2, 3, 4, 5, 6],
    )


def test_each_release_is_checked_against_its_own_month_and_hs_level(context_dir: Path) -> None:
    february = dt.date(2024, 2, 1)
    rows = valid_rows()
    for row in rows:
        row.update(period=february, hs_code=row["hs_code"] + "00", hs_level=6)
    releases = [
        release(1, canonical(valid_rows())),
        release(2, canonical(rows), period=february, level=6),
        release(3, with_change(3, period=february)),  # a March release with a February row
    ]

    runs = stored_runs(context_dir)

    march, february_hs6, wrong_month = validate_batch(releases, context_dir)

    assert stored_runs(context_dir) == runs + 2  # one run per HS level: months share a run
    assert march.success and february_hs6.success, (march.summary(), february_hs6.summary())
    failure = only_failure(wrong_month, "expect_column_pair_values_to_be_equal", "period")
    assert found(failure) == (1, [february], [3])
    assert "expected period is the release's month, 2024-03-01" in failure.message()


def test_a_row_repeated_by_two_releases_is_left_to_the_load(context_dir: Path) -> None:
    rows = valid_rows()
    rows.append({**rows[0], "source_row": 99})
    releases = [release(1, canonical(valid_rows())), release(2, canonical(rows))]

    other, repeating = validate_batch(releases, context_dir)

    assert other.success, other.summary()  # the same grain in another release is not a failure
    grain = "period, flow, partner_code, hs_code, customs_regime_code, registration_place_code"
    failure = only_failure(repeating, "expect_compound_columns_to_be_unique", grain)
    assert (failure.unexpected_count, sorted(failure.sample_rows)) == (2, [2, 99])
    assert "release_id" not in failure.message()


def test_releases_of_another_currency_pass_and_a_mixed_one_fails_alone(
    context_dir: Path,
) -> None:
    yuan = canonical(valid_rows()).with_columns(currency=pl.lit("CNY"))
    releases = [
        release(1, canonical(valid_rows())),
        release(2, yuan),
        release(3, with_change(8, currency="CNY")),
        release(4, with_change(8, currency="CNY")),
    ]

    dollars, renminbi, mixed, mixed_too = validate_batch(releases, context_dir)

    assert dollars.success and renminbi.success, (dollars.summary(), renminbi.summary())
    for outcome in (mixed, mixed_too):
        failure = only_failure(
            outcome, "expect_column_unique_value_count_to_be_between", "currency"
        )
        assert found(failure) == (1, ["CNY"], [8])
        assert len(outcome.failures) == 1


def test_a_release_missing_a_column_fails_alone(context_dir: Path) -> None:
    releases = [
        release(1, canonical(valid_rows()).drop("currency")),
        release(2, canonical(valid_rows())),
    ]

    missing, complete = validate_batch(releases, context_dir)

    assert complete.success, complete.summary()
    assert only_failure(missing, "expect_table_columns_to_match_set", None).sample_values == [
        "currency"
    ]


def test_batches_are_cut_at_max_rows_with_the_same_outcomes(context_dir: Path) -> None:
    releases = [release(n, with_change(2 + n, value=-n)) for n in range(1, 4)]
    runs = stored_runs(context_dir)

    outcomes = validate_batch(releases, context_dir, max_rows=24)

    assert stored_runs(context_dir) == runs + 2  # 12 + 12 rows, then 12
    assert [o.summary() for o in outcomes] == [
        validate(r.frame, context_dir).summary() for r in releases
    ]


def test_run_suite_runs_a_stored_suite_by_name(context_dir: Path) -> None:
    parameters = {"hs_level": 4, "partner_codes": PARTNERS, "customs_regime_codes": REGIMES}
    bad = with_change(5, value=-1161)

    def with_month(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(release_period=pl.lit(PERIOD))

    outcome = run_suite("detailed_trade", with_month(bad), parameters, context_dir)

    # The stored suite by its name, with the parameters given here: the negative value of
    # source row 5 and nothing else (not compared with another path through the same code).
    assert outcome.suite == "detailed_trade" and not outcome.success
    failure = only_failure(outcome, "expect_column_values_to_be_between", "value")
    assert found(failure) == (1, [-1161], [5])
    assert len(outcome.failures) == 1
    assert run_suite(
        "detailed_trade", with_month(canonical(valid_rows())), parameters, context_dir
    ).success


def test_a_run_keeps_no_copy_of_the_rows_it_validated(context_dir: Path) -> None:
    """GX's engine would keep the last batch's pandas frame until the next run: at national
    scale that is hundreds of MB held through the load."""
    import gc

    import pandas as pd

    rows = [row | {"source_row": 1000 + n} for n, row in enumerate(valid_rows() * 3)]
    rows = [row | {"hs_code": f"{n:04d}"} for n, row in enumerate(rows)]

    assert validate(canonical(rows), context_dir).success

    gc.collect()
    left = [
        frame
        for frame in gc.get_objects()
        if isinstance(frame, pd.DataFrame) and "source_row" in frame and len(frame) == len(rows)
    ]
    assert left == []
