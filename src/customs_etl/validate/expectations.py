"""The data-quality gate between transform and load: Great Expectations over release frames.

The suite lives in the file-backed GX project under expectations/ and is reviewed like code;
this module fills its parameters, runs it over every row and turns GX's result into messages a
person can act on. GX costs ~150 ms of planning per run whatever the rows, so releases of one
HS level and currency are stacked and validated in one run, each row carrying its release's id
and month; every unexpected row is mapped back to the release (and source row) it came from,
and each release gets its own outcome. GX takes seconds to import, so it is imported on first
use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import math
import os
import re
import shutil
import threading
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from customs_etl.validate.batches import MAX_BATCH_ROWS, in_batches

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
# Each release's rows carry its id; the suite's grain includes it, so that two releases of one
# batch repeating a row is left to the load, whose message names the file delivered first.
RELEASE_ID = "release_id"
# The release's month on each of its rows, which the suite compares with period row by row.
RELEASE_PERIOD = "release_period"
SAMPLE_SIZE = 5
# COMPLETE gives the index label of every unexpected row (labels are row positions in the
# stacked frame), which says how many rows of each release failed; the few sample values are
# then read from the frame. Values and the index query are left out: for a badly failing batch
# they would be a list or a string per row in every stored result. (Naming source_row in
# unexpected_index_column_names instead makes GX build a dict for every unexpected row:
# ~8 s rather than ~1 s on a million-row release that fails badly.)
_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": SAMPLE_SIZE,
}
_UNIQUE_VALUE_COUNT = "expect_column_unique_value_count_to_be_between"
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


@dataclass(frozen=True)
class ReleaseFrame:
    """One release's canonical frame and the suite parameters that are its own."""

    frame: pl.DataFrame
    release_period: dt.date
    hs_level: int


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
    [outcome] = validate_detailed_trade_batch(
        [ReleaseFrame(frame, release_period, hs_level)],
        partner_codes=partner_codes,
        customs_regime_codes=customs_regime_codes,
        context_dir=context_dir,
    )
    return outcome


def validate_detailed_trade_batch(
    releases: Sequence[ReleaseFrame],
    *,
    partner_codes: Collection[str],
    customs_regime_codes: Collection[str],
    context_dir: Path,
    max_rows: int = MAX_BATCH_ROWS,
) -> list[ValidationOutcome]:
    """Run the detailed_trade suite over every row of many releases: one outcome per release,
    in their order, each naming only its own failing rows.

    Releases of one HS level (the suite's parameter), currency and shape are validated in one
    GX run; each row carries its release's month, so each is checked against its own."""
    codes = {
        "partner_codes": sorted(set(partner_codes)),
        "customs_regime_codes": sorted(set(customs_regime_codes)),
    }
    outcomes: dict[int, ValidationOutcome] = {}
    for members in _batches(releases, max_rows):
        parameters = {"hs_level": int(releases[members[0]].hs_level), **codes}
        own = [{RELEASE_PERIOD: releases[i].release_period} for i in members]
        parts = [
            releases[i].frame.with_columns(pl.lit(month[RELEASE_PERIOD]).alias(RELEASE_PERIOD))
            for i, month in zip(members, own, strict=True)
        ]
        ran = run_suite_batch(SUITE, parts, parameters, context_dir, own)
        outcomes.update(zip(members, ran, strict=True))
    return [outcomes[i] for i in range(len(releases))]


def run_suite(
    suite_name: str, frame: pl.DataFrame, parameters: Mapping[str, object], context_dir: Path
) -> ValidationOutcome:
    """Run a stored suite over every row of one frame (see run_suite_batch)."""
    [outcome] = run_suite_batch(suite_name, [frame], parameters, context_dir)
    return outcome


def run_suite_batch(
    suite_name: str,
    parts: Sequence[pl.DataFrame],
    parameters: Mapping[str, object],
    context_dir: Path,
    part_values: Sequence[Mapping[str, object]] | None = None,
) -> list[ValidationOutcome]:
    """One GX run of a stored suite over the parts stacked; one outcome per part, in order.

    The suite runs through the validation definition of the same name in the project at
    context_dir (a pandas dataframe asset). The parts need the same columns and dtypes and
    share the parameters (dates may be given as dates); what differs per part goes in columns,
    and part_values (one mapping per part) fills the $names of those in the messages. A
    row-wise expectation fails only the parts with unexpected rows; a table-wide one (columns
    present, ...) fails every part."""
    if not parts:
        return []
    definition, columns = _load(Path(context_dir).resolve(), suite_name)
    data = _to_pandas(parts, columns)
    gx_parameters = _gx_parameters(parameters)
    with _RUN_LOCK:
        try:
            result = definition.run(
                batch_parameters={"dataframe": data},
                expectation_parameters=gx_parameters,
                result_format=_RESULT_FORMAT,
            )
        finally:
            _forget_batch(definition)
    starts = [0, *itertools.accumulate(part.height for part in parts)]
    fills = [{**gx_parameters, **values} for values in part_values or [{} for _ in parts]]
    per_part: list[list[ExpectationFailure]] = [[] for _ in parts]
    for expectation in result.results:
        if not expectation.success:
            for part, failure in _attribute(expectation, data, starts):
                per_part[part].append(
                    replace(failure, expected=_fill(failure.expected, fills[part]))
                )
    evaluated = int(result.statistics["evaluated_expectations"])
    # Failures of expectations whose severity is not critical are warnings: reported, the
    # part still passes.
    return [
        ValidationOutcome(
            suite_name,
            not any(f.severity == "critical" for f in failures),
            evaluated,
            _in_reading_order(failures),
        )
        for failures in per_part
    ]


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


def warm_up(context_dir: Path) -> None:
    """Import GX and load the project and its suite now (seconds), e.g. in a thread while files
    are parsed. Not thread-safe against validating at the same time: join it first. A failure
    is left for the validation that needs the project to raise."""
    with contextlib.suppress(Exception):
        _load(context_dir)


@functools.lru_cache(maxsize=4)
def _context(context_dir: Path) -> AbstractDataContext:
    if not (context_dir / "great_expectations.yml").is_file():
        # get_context would quietly scaffold an empty project there instead.
        raise FileNotFoundError(f"no Great Expectations project at {context_dir}")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx.get_context(mode="file", context_root_dir=context_dir)


@functools.lru_cache(maxsize=16)
def _load(context_dir: Path, name: str = SUITE) -> tuple[ValidationDefinition, tuple[str, ...]]:
    """The stored validation definition and the columns its suite reads, once per process."""
    definition = _context(context_dir).validation_definitions.get(name)
    return definition, _suite_columns(definition.suite)


def _forget_batch(definition: ValidationDefinition) -> None:
    """GX's execution engine keeps the last batch it validated, the whole pandas frame, until
    the next run replaces it: through the load and the marts after the last run, and as a
    second frame during the next. Let it go when the run is done."""
    engine = definition.batch_definition.data_asset.datasource.get_execution_engine()
    engine.batch_manager.reset_batch_cache()
    engine.batch_manager.batch_data_cache.clear()


def _suite_columns(suite: ExpectationSuite) -> tuple[str, ...]:
    """Every column the suite names, plus the row id: only these are converted to pandas."""
    names = [ROW_ID]
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        names.extend(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
        names.extend(kwargs.get("column_list") or kwargs.get("column_set") or [])
    return tuple(dict.fromkeys(names))


def _batches(releases: Sequence[ReleaseFrame], max_rows: int) -> list[list[int]]:
    """Positions of the releases, grouped by what one GX run must share, at most max_rows."""
    return in_batches(
        range(len(releases)),
        key=lambda i: _batch_key(releases[i]),
        rows=lambda i: releases[i].frame.height,
        max_rows=max_rows,
    )


def _batch_key(release: ReleaseFrame) -> Hashable:
    """The suite's parameter (HS level), the frame's columns and dtypes (so a missing or
    mistyped column is reported as for that release alone) and its currencies: "one currency
    per release" is a count over the whole batch, so other currencies go in other runs."""
    frame = release.frame
    currencies = frame["currency"].drop_nulls().unique() if "currency" in frame.columns else []
    return (
        int(release.hs_level),
        tuple((name, str(dtype)) for name, dtype in frame.schema.items()),
        tuple(sorted(currencies)),
    )


def _to_pandas(parts: Sequence[pl.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    """The parts stacked, as numpy-backed pandas: GX's pandas engine ran the suite ~5x faster
    than on Arrow dtypes. Row labels are positions in the stack (a RangeIndex)."""
    wanted = list(columns)
    # A missing column is left out rather than raised here, so that the suite reports it.
    selected = pl.concat(
        [part.select([c for c in wanted if c in part.columns]) for part in parts],
        how="vertical",
    )
    # GX vectorises comparisons only for datetime64[ns] and 64-bit numbers; Date
    # (datetime64[ms]) and Int8 would fall back to a Python call per row. The release id is one
    # value per release: as a category it is not copied into a Python string per row.
    return selected.with_columns(
        pl.col(pl.Date).cast(pl.Datetime("ns")),
        pl.col(pl.Int8, pl.Int16, pl.Int32).cast(pl.Int64),
        *([pl.col(RELEASE_ID).cast(pl.Categorical)] if RELEASE_ID in selected.columns else []),
    ).to_pandas()


def _gx_parameters(parameters: Mapping[str, object]) -> dict[str, object]:
    # Date columns arrive as datetime64, which pandas compares only with datetimes.
    def gx(value: object) -> object:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return value

    return {name: gx(value) for name, value in parameters.items()}


def _in_reading_order(failures: Iterable[ExpectationFailure]) -> tuple[ExpectationFailure, ...]:
    # A missing column makes every expectation on it fail too: say so first.
    return tuple(sorted(failures, key=lambda f: f.expectation != _COLUMNS_PRESENT))


def _attribute(
    result: ExpectationValidationResult, data: pd.DataFrame, starts: list[int]
) -> list[tuple[int, ExpectationFailure]]:
    """(part, failure) for each part of the stack the failed expectation is about."""
    failure = _failure(result)
    parts = range(len(starts) - 1)
    labels = (result.result or {}).get("unexpected_index_list")
    if failure.error is None and labels:
        return _by_row(failure, result.expectation_config.kwargs, data, starts, labels)
    if failure.error is None and failure.expectation == _UNIQUE_VALUE_COUNT:
        return _minority_parts(failure, data, starts)
    return [(part, failure) for part in parts]


def _failure(result: ExpectationValidationResult) -> ExpectationFailure:
    """The failure as GX counted it over the whole stack; samples are added per part, and the
    $names in the description are filled per part."""
    config = result.expectation_config
    kwargs = config.kwargs
    found: Mapping[str, Any] = result.result or {}
    failure = ExpectationFailure(
        expectation=config.type,
        column=_column(kwargs) or ", ".join(_shown_columns(kwargs)) or None,
        unexpected_count=int(found.get("unexpected_count") or 0),
        sample_values=[],
        sample_rows=[],
        expected=config.description or "",
        severity=str(getattr(config, "severity", None) or "critical").rsplit(".", 1)[-1].lower(),
    )
    if error := _exception_message(result.exception_info):
        return replace(failure, error=error)
    if config.type == _COLUMNS_PRESENT:
        missing = sorted(found.get("details", {}).get("mismatched", {}).get("missing", []))
        return replace(failure, unexpected_count=len(missing), sample_values=missing)
    return failure


# Derived columns whose failures are shown by their source: label_kind is empty exactly when
# the partner label is unknown, so the label is what names the problem.
_SHOWN_INSTEAD = {"label_kind": "partner_label"}


def _column(kwargs: Mapping[str, Any]) -> str | None:
    """The column checked; of a pair, the first: the second holds what it should equal, which
    the description names ("period is the release's month, 2024-03-01")."""
    return kwargs.get("column") or kwargs.get("column_A")


def _shown_columns(kwargs: Mapping[str, Any]) -> list[str]:
    """A compound expectation's columns, without the release id: every row of one outcome has
    the same, and 64 hex digits in each sample would only hide the values that matter."""
    return [c for c in kwargs.get("column_list") or [] if c != RELEASE_ID]


def _by_row(
    failure: ExpectationFailure,
    kwargs: Mapping[str, Any],
    data: pd.DataFrame,
    starts: list[int],
    labels: list[int],
) -> list[tuple[int, ExpectationFailure]]:
    """Split a row-wise failure by the part each unexpected row is in."""
    import numpy as np

    positions = np.sort(np.asarray(labels, dtype=np.int64))
    bounds = np.searchsorted(positions, starts)
    split = []
    for part in range(len(starts) - 1):
        mine = positions[bounds[part] : bounds[part + 1]]
        if len(mine):
            sample = mine[:SAMPLE_SIZE].tolist()
            found = replace(
                failure,
                unexpected_count=len(mine),
                sample_values=_sample_values(data, kwargs, sample),
                sample_rows=_source_rows(data, sample),
            )
            split.append((part, found))
    return split


def _sample_values(
    data: pd.DataFrame, kwargs: Mapping[str, Any], labels: list[int]
) -> list[object]:
    """The offending values at those rows, as GX shows them: a value, or a dict of the keys.
    A column whose offending value is only "empty" is shown by the value it was derived from
    (an unknown preliminary label: the label, not its empty kind)."""
    if column := _column(kwargs):
        shown = _SHOWN_INSTEAD.get(column, column)
        return [_plain(v) for v in data[shown if shown in data else column].loc[labels]]
    rows = data.loc[labels, _shown_columns(kwargs)].to_dict("records")
    return [_plain(row) for row in rows]


def _source_rows(data: pd.DataFrame, labels: list[int]) -> list[int]:
    if ROW_ID not in data or not labels:
        return []
    return [int(row) for row in data[ROW_ID].loc[labels]]


def _minority_parts(
    failure: ExpectationFailure, data: pd.DataFrame, starts: list[int]
) -> list[tuple[int, ExpectationFailure]]:
    """GX only counts distinct values over the stack; name, per part, the rows that differ
    from the part's most common value. A part whose rows hold one value is not at fault
    (batches are formed per currency), unless it is the only part."""
    if failure.column not in data:
        return [(part, failure) for part in range(len(starts) - 1)]
    split = []
    for part in range(len(starts) - 1):
        rows = slice(starts[part], starts[part + 1])
        row_ids = data[ROW_ID].iloc[rows] if ROW_ID in data else None
        found = _minority_rows(failure, data[failure.column].iloc[rows], row_ids)
        if found is not None or len(starts) == 2:
            split.append((part, found or failure))
    return split


def _minority_rows(
    failure: ExpectationFailure, values: pd.Series, rows: pd.Series | None
) -> ExpectationFailure | None:
    """The rows that differ from the most common value; None when all rows share one."""
    counts = values.value_counts()
    if len(counts) < 2:
        return None
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
        return None if value != value else value.date()  # pandas' NaT is unequal to itself
    return value.item() if hasattr(value, "item") else value


def _examples(values: list[object], rows: list[int]) -> str:
    """Each distinct sample once, with the source rows it was seen at."""
    if len(rows) != len(values):
        return ", ".join(dict.fromkeys(map(_show, values)))
    seen: dict[str, list[str]] = {}
    for value, row in zip(values, rows, strict=True):
        at = seen.setdefault(_show(value), [])
        if str(row) not in at:  # one source row can hold several flows' figures
            at.append(str(row))
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
