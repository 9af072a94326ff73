"""The work of each stage as plain functions (paths in, paths out), called by the Prefect flow,
the tests and the benchmark alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from customs_etl import seeds
from customs_etl.errors import ReleaseError
from customs_etl.parsing import parse_detailed_export
from customs_etl.releases import ReleaseFile, period_named_in
from customs_etl.transform import release_hs_level, release_period, to_canonical
from customs_etl.warehouse import ReleaseRecord

if TYPE_CHECKING:
    from customs_etl.validation import ValidationOutcome

# Bump when parsing or transformation changes, so cached staged files are rebuilt.
STAGING_VERSION = "1"


@dataclass(frozen=True)
class StagedRelease:
    """A release parsed into the canonical frame, stored as Parquet beside the job."""

    release: ReleaseFile
    path: Path
    period: str  # ISO date of the month's first day
    hs_level: int
    currency: str
    dialect: str
    encoding: str
    row_count: int
    value_total: int

    def record(self, status: str = "loaded", error: str | None = None) -> ReleaseRecord:
        return ReleaseRecord(
            release_id=self.release.release_id,
            source_name=self.release.source_name,
            kind="detailed_export",
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
        )


def staged_path(staging_dir: Path, release: ReleaseFile) -> Path:
    return staging_dir / f"{release.release_id}.v{STAGING_VERSION}.parquet"


def stage_release(release: ReleaseFile, staging_dir: Path, seeds_dir: Path) -> StagedRelease:
    """Parse and canonicalise one release file; write it as Parquet (whole, then renamed)."""
    parsed = parse_detailed_export(release.path, release.source_name)
    canonical = to_canonical(parsed.frame, release, seeds.partners(seeds_dir))
    period = release_period(canonical, release.source_name)
    _check_period_matches_name(period, release.source_name)
    hs_level = release_hs_level(canonical, release.source_name)
    target = staged_path(staging_dir, release)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    canonical.write_parquet(partial)
    partial.replace(target)
    return StagedRelease(
        release=release,
        path=target,
        period=period.isoformat(),
        hs_level=hs_level,
        currency=parsed.currency,
        dialect=parsed.dialect,
        encoding=parsed.encoding,
        row_count=canonical.height,
        value_total=int(canonical["value"].sum()),
    )


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
    release_id: str, source_name: str, size_bytes: int, error: str, flow: str | None = None
) -> ReleaseRecord:
    return ReleaseRecord(
        release_id=release_id,
        source_name=source_name,
        kind="detailed_export",
        size_bytes=size_bytes,
        status="rejected",
        flow=flow,
        error=error,
    )


def validate_staged(
    staged: StagedRelease, seeds_dir: Path, expectations_dir: Path
) -> ValidationOutcome:
    """Run the detailed-trade suite over every row of a staged release."""
    from customs_etl.validation import validate_detailed_trade

    return validate_detailed_trade(
        read_staged(staged),
        release_period=dt.date.fromisoformat(staged.period),
        hs_level=staged.hs_level,
        partner_codes=seeds.partners(seeds_dir)["partner_code"].to_list(),
        customs_regime_codes=seeds.customs_regime_codes(seeds_dir),
        context_dir=expectations_dir,
    )


def validation_batches(
    staged: list[StagedRelease], max_rows: int | None = None
) -> list[list[StagedRelease]]:
    """The releases grouped as the detailed-trade suite can validate them in one run: same
    HS level and currency, at most max_rows rows (default: the validation module's)."""
    from customs_etl.validation import MAX_BATCH_ROWS

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
    from customs_etl.validation import ReleaseFrame, validate_detailed_trade_batch

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
