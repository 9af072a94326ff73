"""The data-quality gate between transform and load: Great Expectations over one release's frame.

The suite lives in the file-backed GX project under expectations/ and is reviewed like code;
this module fills its parameters, runs it once over every row and turns GX's result into
messages a person can act on. GX takes seconds to import, so it is imported on first use.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import shutil
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite, ValidationDefinition
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.data_context import AbstractDataContext

SUITE = "detailed_trade"
PRELIMINARY_SUITE = "preliminary_table"
CROSS_CHECK_SUITE = "preliminary_cross_check"
DATA_DOCS_INDEX = Path("uncommitted") / "data_docs" / "local_site" / "index.html"
ROW_ID = "source_row"
SAMPLE_SIZE = 5
# SUMMARY carries a few offending values and their index labels, which are row positions in
# the frame handed to GX; they are mapped to source_row here. (Naming source_row in
# unexpected_index_column_names instead makes GX build a dict for every unexpected row before
# keeping five: ~8 s rather than ~1 s on a million-row release that fails badly.)
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
_COLUMNS_PRESENT = "expect_table_columns_to_match_set"
_PARAMETER = re.compile(r"\$(\w+)")
# The cached context writes its results to files: one run at a time per process.
_RUN_LOCK = threading.Lock()


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str  # e.g. "expect_column_values_to_be_in_set"
    column: str | None  # compound expectations: the columns joined with ", "
    unexpected_count: int
    sample_values: list[object]
    sample_rows: list[int]  # source_row of each sampled value, where there is one
    expected: str = ""  # the expectation's description in the suite
    error: str | None = None  # GX could not evaluate the expectation (e.g. a wrong dtype)
    severity: str = "critical"  # "warning": reported, the batch still loads

    def message(self) -> str:
        if self.error:
            found = f"could not be checked ({self.error})"
        elif self.expectation == _COLUMNS_PRESENT:
            found = f"missing {', '.join(map(_show, self.sample_values))}"
        else:
            found = f"{self.unexpected_count} unexpected row(s)"
            if self.sample_values:
                found += f", e.g. {_examples(self.sample_values, self.sample_rows)}"
        expected = self.expected or self.expectation
        return f"{self.column or 'columns'}: {found}; expected {expected} [{self.expectation}]"


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    success: bool
    evaluated_expectations: int
    failures: tuple[ExpectationFailure, ...]

    @property
    def warnings(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity != "critical")

    @property
    def refusals(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity == "critical")

    def summary(self) -> str:
        if self.success and not self.failures:
            return f"{self.suite}: all {self.evaluated_expectations} expectations met"
        head = f"{self.suite}: {len(self.failures)} of {self.evaluated_expectations} failed"
        return "\n".join([head, *(f"  - {f.message()}" for f in self.failures)])


def validate_detailed_trade(
    frame: pl.DataFrame,
    *,
    release_period: dt.date,
    hs_level: int,
    partner_codes: Collection[str],
    customs_regime_codes: Collection[str],
    context_dir: Path,
) -> ValidationOutcome:
    """Run the detailed_trade suite over every row of one release's canonical frame."""
    parameters = {
        # The period column arrives as datetime64, which pandas compares only with datetimes.
        "release_period": dt.datetime.combine(release_period, dt.time()),
        "hs_level": int(hs_level),
        "partner_codes": sorted(set(partner_codes)),
        "customs_regime_codes": sorted(set(customs_regime_codes)),
    }
    return run_suite(SUITE, frame, parameters, context_dir)


def validate_preliminary_table(
    checks: pl.DataFrame,
    *,
    release_period: dt.date,
    currency: str,
    rounding: int,
    context_dir: Path,
) -> ValidationOutcome:
    """The preliminary_table suite over one table's rows and their derived check columns."""
    parameters = {
        "release_period": dt.datetime.combine(release_period, dt.time()),
        "release_currencies": [currency],
        "rounding": rounding,
        "negative_rounding": -rounding,
    }
    return run_suite(PRELIMINARY_SUITE, checks, parameters, context_dir)


def validate_cross_check(frame: pl.DataFrame, context_dir: Path) -> ValidationOutcome:
    """Detailed against preliminary figures (marts.preliminary_cross_check): warnings only."""
    return run_suite(CROSS_CHECK_SUITE, frame, {}, context_dir)


def run_suite(
    suite: str, frame: pl.DataFrame, parameters: Mapping[str, object], context_dir: Path
) -> ValidationOutcome:
    """One run of a stored suite over every row of a frame; failures of expectations whose
    severity is not critical are warnings, which do not make the outcome unsuccessful."""
    definition, columns = _load(Path(context_dir).resolve(), suite)
    data = _to_pandas(frame, columns)
    with _RUN_LOCK:
        result = definition.run(
            batch_parameters={"dataframe": data},
            expectation_parameters=dict(parameters),
            result_format=_RESULT_FORMAT,
        )
    failures = _in_reading_order(
        _failure(r, data, parameters) for r in result.results if not r.success
    )
    return ValidationOutcome(
        suite=suite,
        success=not any(f.severity == "critical" for f in failures),
        evaluated_expectations=int(result.statistics["evaluated_expectations"]),
        failures=failures,
    )


def build_data_docs(context_dir: Path) -> Path:
    """Render the stored validation results as a static site; returns its index page."""
    context = _context(Path(context_dir).resolve())
    with _RUN_LOCK:
        context.build_data_docs()
    return Path(context_dir) / DATA_DOCS_INDEX


def clear_results(context_dir: Path) -> None:
    """Forget earlier runs' results, so the Data Docs show the run about to validate."""
    shutil.rmtree(Path(context_dir) / "uncommitted" / "validations", ignore_errors=True)
    shutil.rmtree(Path(context_dir) / "uncommitted" / "data_docs", ignore_errors=True)


@functools.lru_cache(maxsize=4)
def _context(context_dir: Path) -> AbstractDataContext:
    if not (context_dir / "great_expectations.yml").is_file():
        # get_context would quietly scaffold an empty project there instead.
        raise FileNotFoundError(f"no Great Expectations project at {context_dir}")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx.get_context(mode="file", context_root_dir=context_dir)


@functools.lru_cache(maxsize=16)
def _load(context_dir: Path, suite: str) -> tuple[ValidationDefinition, tuple[str, ...]]:
    """The stored validation definition and the columns its suite reads, once per process."""
    definition = _context(context_dir).validation_definitions.get(suite)
    return definition, _suite_columns(definition.suite)


def _suite_columns(suite: ExpectationSuite) -> tuple[str, ...]:
    """Every column the suite names, plus the row id: only these are converted to pandas."""
    names = [ROW_ID]
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        names.extend(kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs)
        names.extend(kwargs.get("column_list") or kwargs.get("column_set") or [])
    return tuple(dict.fromkeys(names))


def _to_pandas(frame: pl.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Numpy-backed pandas: GX's pandas engine ran the suite ~5x faster than on Arrow dtypes."""
    # A missing column is left out rather than raised here, so that the suite reports it.
    selected = frame.select([c for c in columns if c in frame.columns])
    # GX vectorises comparisons only for datetime64[ns] and 64-bit numbers; Date
    # (datetime64[ms]) and Int8 would fall back to a Python call per row.
    return selected.with_columns(
        pl.col(pl.Date).cast(pl.Datetime("ns")),
        pl.col(pl.Int8, pl.Int16, pl.Int32).cast(pl.Int64),
    ).to_pandas()


def _in_reading_order(failures: Iterable[ExpectationFailure]) -> tuple[ExpectationFailure, ...]:
    # A missing column makes every expectation on it fail too: say so first.
    return tuple(sorted(failures, key=lambda f: f.expectation != _COLUMNS_PRESENT))


def _failure(
    result: ExpectationValidationResult, data: pd.DataFrame, parameters: Mapping[str, object]
) -> ExpectationFailure:
    config = result.expectation_config
    kwargs = config.kwargs
    found: Mapping[str, Any] = result.result or {}
    failure = ExpectationFailure(
        expectation=config.type,
        column=kwargs.get("column")
        or ", ".join(kwargs.get("column_list") or _pair(kwargs))
        or None,
        unexpected_count=int(found.get("unexpected_count") or 0),
        sample_values=[_plain(v) for v in found.get("partial_unexpected_list") or []],
        sample_rows=_source_rows(data, found.get("partial_unexpected_index_list") or []),
        expected=_fill(config.description or "", parameters),
        severity=str(getattr(config, "severity", None) or "critical").rsplit(".", 1)[-1].lower(),
    )
    if error := _exception_message(result.exception_info):
        return replace(failure, error=error)
    if config.type == _COLUMNS_PRESENT:
        missing = sorted(found.get("details", {}).get("mismatched", {}).get("missing", []))
        return replace(failure, unexpected_count=len(missing), sample_values=missing)
    if config.type == "expect_column_unique_value_count_to_be_between" and failure.column in data:
        return _minority_rows(failure, data[failure.column], data.get(ROW_ID))
    return failure


def _pair(kwargs: Mapping[str, Any]) -> list[str]:
    return [kwargs[key] for key in ("column_A", "column_B") if key in kwargs]


def _source_rows(data: pd.DataFrame, labels: list[int]) -> list[int]:
    if ROW_ID not in data or not labels:
        return []
    return [int(row) for row in data[ROW_ID].loc[labels]]


def _minority_rows(
    failure: ExpectationFailure, values: pd.Series, rows: pd.Series | None
) -> ExpectationFailure:
    """GX only counts distinct values; name the rows that differ from the most common one."""
    counts = values.value_counts()
    if len(counts) < 2:
        return failure
    offending = values.isin(counts.index[1:])
    return replace(
        failure,
        unexpected_count=int(offending.sum()),
        sample_values=[_plain(v) for v in values[offending].head(SAMPLE_SIZE)],
        sample_rows=[] if rows is None else rows[offending].head(SAMPLE_SIZE).tolist(),
    )


def _fill(description: str, parameters: Mapping[str, object]) -> str:
    """Descriptions name the suite parameters they use as $name: show this run's value."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        return _show(_plain(parameters[name])) if name in parameters else match[0]

    return _PARAMETER.sub(value, description)


def _exception_message(info: Mapping[str, Any] | None) -> str | None:
    """GX reports a raised metric either flat or keyed by the metric that raised."""
    if not info:
        return None
    if "raised_exception" not in info:
        nested = (_exception_message(v) for v in info.values() if isinstance(v, Mapping))
        return next(filter(None, nested), None)
    return str(info.get("exception_message")) if info["raised_exception"] else None


def _plain(value: object) -> object:
    """Python values as the Polars frame had them: pandas' NaN for a null, dates as dates."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime):  # only period is a datetime, cast from Date above
        return value.date()
    return value.item() if hasattr(value, "item") else value


def _examples(values: list[object], rows: list[int]) -> str:
    """Each distinct sample once, with the source rows it was seen at."""
    if len(rows) != len(values):
        return ", ".join(dict.fromkeys(map(_show, values)))
    seen: dict[str, list[str]] = {}
    for value, row in zip(values, rows, strict=True):
        seen.setdefault(_show(value), []).append(str(row))
    return ", ".join(
        f"{value} at source row{'s' if len(at) > 1 else ''} {', '.join(at)}"
        for value, at in seen.items()
    )


def _show(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):  # a compound key
        return f"({', '.join(map(_show, value.values()))})"
    return repr(value)
