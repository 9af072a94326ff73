"""The work of each stage as plain functions (paths in, paths out), called by the Prefect flow,
the tests and the benchmark alike."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from customs_etl import seeds
from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.extract.releases import ReleaseFile, period_named_in
from customs_etl.load.warehouse import ReleaseRecord
from customs_etl.transform.canonical import (
    NEIGHBOUR_SCHEMA,
    TABLE_ROUNDING,
    preliminary_checks,
    release_hs_level,
    release_period,
    to_canonical,
    to_headline,
)
from customs_etl.transform.exports import parse_detailed_export
from customs_etl.transform.preliminary_tables import parse_preliminary_table

if TYPE_CHECKING:
    from customs_etl.validate.expectations import ValidationOutcome

# Bump when parsing or transformation changes, so cached staged files are rebuilt.
STAGING_VERSION = "2"


@dataclass(frozen=True)
class StagedRelease:
    """A release parsed into the canonical frame, stored as Parquet beside the job."""

    release: ReleaseFile
    path: Path
    period: str  # ISO date of the (last) month's first day
    hs_level: int | None  # None for a preliminary table
    currency: str
    dialect: str
    encoding: str
    row_count: int
    value_total: int
    months_covered: int = 1

    @property
    def kind(self) -> str:
        return self.release.kind

    def record(self, status: str = "loaded", error: str | None = None) -> ReleaseRecord:
        return ReleaseRecord(
            release_id=self.release.release_id,
            source_name=self.release.source_name,
            kind=self.release.kind,
            size_bytes=self.release.size_bytes,
            status=status,
            flow=self.release.flow,
            period=dt.date.fromisoformat(self.period),
            currency=self.currency,
            hs_level=self.hs_level,
            dialect=self.dialect,
            encoding=self.encoding,
            row_count=self.row_count,
            value_total=self.value_total,
            error=error,
            slot_name=self.release.slot_name,
            published_on=self.release.published_on,
            months_covered=self.months_covered,
        )


def staged_path(staging_dir: Path, release: ReleaseFile) -> Path:
    return staging_dir / f"{release.release_id}.v{STAGING_VERSION}.parquet"


def stage_release(
    release: ReleaseFile, staging_dir: Path, seeds_dir: Path, max_bytes: int | None = None
) -> StagedRelease:
    """Parse and canonicalise one release file; write it as Parquet (whole, then renamed).
    A file over `max_bytes` (unpacked) is refused before it is read whole."""
    if release.kind == "preliminary_table":
        _refuse_if_larger(release, max_bytes)
        return stage_preliminary(release, staging_dir, seeds_dir)
    parsed = parse_detailed_export(release.path, release.source_name, max_bytes=max_bytes)
    canonical = to_canonical(parsed.frame, release, seeds.partners(seeds_dir))
    period = release_period(canonical, release.source_name)
    _check_period_matches_name(period, release.source_name)
    hs_level = release_hs_level(canonical, release.source_name)
    return StagedRelease(
        release=release,
        path=_write_staged(canonical, staging_dir, release),
        period=period.isoformat(),
        hs_level=hs_level,
        currency=parsed.currency,
        dialect=parsed.dialect,
        encoding=parsed.encoding,
        row_count=canonical.height,
        value_total=int(canonical["value"].sum()),
    )


def stage_preliminary(release: ReleaseFile, staging_dir: Path, seeds_dir: Path) -> StagedRelease:
    """A saved or fetched preliminary-table page as headline rows (both flows and the total)."""
    table = parse_preliminary_table(release.path.read_bytes(), release.source_name)
    _check_period_matches_name(table.period, release.source_name)
    headline = to_headline(
        table.frame,
        release.release_id,
        seeds.partners(seeds_dir),
        seeds.preliminary_labels(seeds_dir),
    )
    return StagedRelease(
        release=release,
        path=_write_staged(headline, staging_dir, release),
        period=table.period.isoformat(),
        hs_level=None,
        currency=table.currency,
        dialect=f"gacc_preliminary_table_{table.table_number}",
        encoding="html",
        row_count=headline.height,
        value_total=int(headline.filter(pl.col("flow") == "total")["value_ytd"].sum()),
        months_covered=table.months_covered,
    )


def _refuse_if_larger(release: ReleaseFile, max_bytes: int | None) -> None:
    if max_bytes is not None and release.size_bytes > max_bytes:
        raise ReleaseTooLargeError(
            release.source_name,
            f"the page is too large: {release.size_bytes:,} bytes, over the limit of "
            f"{max_bytes:,} bytes",
            limit=max_bytes,
        )


def _write_staged(frame: pl.DataFrame, staging_dir: Path, release: ReleaseFile) -> Path:
    """Write whole, then rename: a staged file is complete or absent. The temporary name is
    the writer's own: files are staged several at a time, and two names for the same bytes
    are one release with one staged file."""
    target = staged_path(staging_dir, release)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.partial")
    try:
        frame.write_parquet(partial)
    except BaseException:
        partial.unlink(missing_ok=True)  # no other run would reuse this name to clear it
        raise
    partial.replace(target)
    return target


def _check_period_matches_name(period: dt.date, source_name: str) -> None:
    named = period_named_in(source_name)
    if named is not None and named != period:
        raise ReleaseError(
            source_name,
            "the file's rows are for another month than its name or folder says",
            field="period",
            expected=named.strftime("%Y-%m"),
            found=period.strftime("%Y-%m"),
        )


def read_staged(staged: StagedRelease) -> pl.DataFrame:
    return pl.read_parquet(staged.path)


def rejected_record(
    release_id: str,
    source_name: str,
    size_bytes: int,
    error: str,
    flow: str | None = None,
    kind: str = "detailed_export",
) -> ReleaseRecord:
    return ReleaseRecord(
        release_id=release_id,
        source_name=source_name,
        kind=kind,
        size_bytes=size_bytes,
        status="rejected",
        flow=flow,
        error=error,
    )


def validate_preliminary_staged(
    staged: StagedRelease, expectations_dir: Path, neighbours: pl.DataFrame | None = None
) -> ValidationOutcome:
    """The preliminary_table suite over a staged table, checked against the neighbouring
    months' tables already loaded (`neighbours`, from warehouse.headline_neighbours).
    Detailed exports are validated in batches (validate_staged_batch)."""
    from customs_etl.validate.expectations import validate_preliminary_table

    checks = preliminary_checks(
        read_staged(staged), neighbours if neighbours is not None else _no_neighbours()
    )
    return validate_preliminary_table(
        checks,
        release_period=dt.date.fromisoformat(staged.period),
        currency=staged.currency,
        rounding=TABLE_ROUNDING[staged.currency],
        context_dir=expectations_dir,
    )


def _no_neighbours() -> pl.DataFrame:
    return pl.DataFrame(schema=NEIGHBOUR_SCHEMA)


def vintage_order(staged: StagedRelease) -> tuple[str, dt.date, str]:
    """Oldest month first, then oldest publication (unknown last), then checksum."""
    published = staged.release.published_on or dt.date.max
    return staged.period, published, staged.release.release_id


def cross_check_warnings(cross_check: pl.DataFrame) -> list[str]:
    """One line per disagreement of marts.preliminary_cross_check, with both figures."""
    return [
        f"{row['partner_iso3']} {row['flow']} {_span(row)}: detailed "
        f"{row['value_detailed']:,} {row['currency']} vs preliminary "
        f"{row['value_preliminary']:,} ({row['difference_pct']:+.2f}%, tolerance "
        f"{row['tolerance']:,}) in {row['preliminary_source_name']}"
        for row in cross_check.filter(~pl.col("within_tolerance")).iter_rows(named=True)
    ]


def _span(row: dict[str, object]) -> str:
    start, end = row["period"], row["period_end"]
    assert isinstance(start, dt.date) and isinstance(end, dt.date)
    return f"{start:%Y-%m}" if start == end else f"{start:%Y-%m}..{end:%Y-%m}"


def validation_batches(
    staged: list[StagedRelease], max_rows: int | None = None
) -> list[list[StagedRelease]]:
    """The releases grouped as the detailed-trade suite can validate them in one run: same
    HS level and currency, at most max_rows rows (default: the validation module's)."""
    from customs_etl.validate.expectations import MAX_BATCH_ROWS

    limit = max_rows or MAX_BATCH_ROWS
    groups: dict[Hashable, list[StagedRelease]] = {}
    for release in staged:
        groups.setdefault((release.hs_level, release.currency), []).append(release)
    return [batch for group in groups.values() for batch in _up_to(group, limit)]


def _up_to(group: list[StagedRelease], max_rows: int) -> list[list[StagedRelease]]:
    """Consecutive runs of the group of at most max_rows rows (a bigger release alone)."""
    batches: list[list[StagedRelease]] = [[]]
    rows = 0
    for release in group:
        if batches[-1] and rows + release.row_count > max_rows:
            batches.append([])
            rows = 0
        batches[-1].append(release)
        rows += release.row_count
    return batches


def validate_staged_batch(
    batch: list[StagedRelease], seeds_dir: Path, expectations_dir: Path
) -> dict[str, ValidationOutcome]:
    """Run the detailed-trade suite over every row of many staged releases, as few GX runs as
    their parameters allow (see validation_batches): each release's outcome by release id."""
    from customs_etl.validate.expectations import ReleaseFrame, validate_detailed_trade_batch

    # The same bytes under two names are one release: validate it once.
    releases = list({staged.release.release_id: staged for staged in batch}.values())
    outcomes = validate_detailed_trade_batch(
        [
            ReleaseFrame(read_staged(s), dt.date.fromisoformat(s.period), s.hs_level)
            for s in releases
        ],
        partner_codes=seeds.partners(seeds_dir)["partner_code"].to_list(),
        customs_regime_codes=seeds.customs_regime_codes(seeds_dir),
        context_dir=expectations_dir,
    )
    return {s.release.release_id: o for s, o in zip(releases, outcomes, strict=True)}
