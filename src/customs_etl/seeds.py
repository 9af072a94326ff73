"""GACC code lists as committed seed CSVs (scripts/build_seeds.py builds them)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def read_seed(seeds_dir: Path, name: str) -> pl.DataFrame:
    """A seed as text columns: codes keep their leading zeros."""
    return pl.read_csv(seeds_dir / f"{name}.csv", infer_schema=False)


def partners(seeds_dir: Path) -> pl.DataFrame:
    return read_seed(seeds_dir, "partners")


def customs_regime_codes(seeds_dir: Path) -> list[str]:
    return read_seed(seeds_dir, "customs_regimes")["customs_regime_code"].to_list()


def preliminary_labels(seeds_dir: Path) -> pl.DataFrame:
    return read_seed(seeds_dir, "preliminary_labels")
