"""The detailed_trade suite over every row of parsed releases, in as few GX runs as their
parameters allow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from customs_etl import seeds
from customs_etl.extract.releases import one_per_release
from customs_etl.transform.parse import ParsedRelease, read_parsed
from customs_etl.validate.expectations import (
    ReleaseFrame,
    ValidationOutcome,
    validate_detailed_trade_batch,
)


def validate_parsed_batch(
    batch: list[ParsedRelease], seeds_dir: Path, expectations_dir: Path
) -> dict[str, ValidationOutcome]:
    """Run the detailed-trade suite over every row of many parsed releases, as few GX runs as
    their parameters allow (see validation_batches): each release's outcome by release id."""

    releases = one_per_release(batch, lambda one: one.release.release_id)
    outcomes = validate_detailed_trade_batch(
        [
            ReleaseFrame(read_parsed(s), dt.date.fromisoformat(s.period), s.hs_level)
            for s in releases
        ],
        partner_codes=seeds.partners(seeds_dir)["partner_code"].to_list(),
        customs_regime_codes=seeds.customs_regime_codes(seeds_dir),
        context_dir=expectations_dir,
    )
    return {s.release.release_id: o for s, o in zip(releases, outcomes, strict=True)}
