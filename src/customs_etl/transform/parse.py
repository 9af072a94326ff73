"""A release file parsed into its canonical frame and kept as Parquet in the work folder (a
*parsed release*), ready to validate and load. Paths in, paths out: the job, the flow's tasks,
the tests and the benchmark call these same functions."""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from customs_etl import seeds
from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.extract.releases import ReleaseFile, period_named_in
from customs_etl.transform.canonical import (
    release_hs_level,
    release_period,
    to_canonical,
    to_preliminary_rows,
)
from customs_etl.transform.exports import parse_detailed_export
from customs_etl.transform.preliminary_tables import MAX_PAGE_BYTES, parse_preliminary_table
from customs_etl.validate import text_cells

# Bump when parsing or transformation changes, so cached parsed files are rebuilt.
PARSED_VERSION = "5"  # 5: names kept only for codes the lists lack


@dataclass(frozen=True)
class ParsedRelease:
    """A release parsed into the canonical frame, kept as Parquet in the work folder."""

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


def parsed_path(parsed_dir: Path, release: ReleaseFile) -> Path:
    return parsed_dir / f"{release.release_id}.v{PARSED_VERSION}.parquet"


def parse_release(
    release: ReleaseFile, parsed_dir: Path, seeds_dir: Path, max_bytes: int | None = None
) -> ParsedRelease:
    """Parse and canonicalise one release file; write it as Parquet (whole, then renamed).
    A file over `max_bytes` (unpacked) is refused before it is read whole."""
    if release.kind == "preliminary_table":
        _refuse_if_larger(release, min(max_bytes or MAX_PAGE_BYTES, MAX_PAGE_BYTES))
        return parse_preliminary_release(release, parsed_dir, seeds_dir)
    parsed = parse_detailed_export(release.path, release.source_name, max_bytes=max_bytes)
    text_cells.check_release_text(
        parsed.frame, release.source_name, text_cells.known_units(seeds_dir)
    )
    canonical = to_canonical(
        parsed.frame, release, seeds.partners(seeds_dir), seeds.listed_commodity_codes(seeds_dir)
    )
    period = release_period(canonical, release.source_name)
    _check_period_matches_name(period, release.source_name)
    hs_level = release_hs_level(canonical, release.source_name)
    return ParsedRelease(
        release=release,
        path=_write_parsed(canonical, parsed_dir, release),
        period=period.isoformat(),
        hs_level=hs_level,
        currency=parsed.currency,
        dialect=parsed.dialect,
        encoding=parsed.encoding,
        row_count=canonical.height,
        value_total=int(canonical["value"].sum()),
    )


def parse_preliminary_release(
    release: ReleaseFile, parsed_dir: Path, seeds_dir: Path
) -> ParsedRelease:
    """A saved or fetched preliminary-table page as preliminary rows (both flows and the total)."""
    text_cells.check_source_name(release.source_name)
    table = parse_preliminary_table(release.path.read_bytes(), release.source_name)
    _check_period_matches_name(table.period, release.source_name)
    rows = to_preliminary_rows(
        table.frame,
        release.release_id,
        seeds.partners(seeds_dir),
        seeds.preliminary_labels(seeds_dir),
    )
    return ParsedRelease(
        release=release,
        path=_write_parsed(rows, parsed_dir, release),
        period=table.period.isoformat(),
        hs_level=None,
        currency=table.currency,
        dialect=f"gacc_preliminary_table_{table.table_number}",
        encoding="html",
        row_count=rows.height,
        value_total=int(rows.filter(pl.col("flow") == "total")["value_ytd"].sum()),
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


def _write_parsed(frame: pl.DataFrame, parsed_dir: Path, release: ReleaseFile) -> Path:
    """Write whole, then rename: a parsed file is complete or absent. The temporary name is
    the writer's own: files are parsed several at a time, and two names for the same bytes
    are one release with one parsed file."""
    target = parsed_path(parsed_dir, release)
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


def read_parsed(parsed: ParsedRelease) -> pl.DataFrame:
    return pl.read_parquet(parsed.path)
