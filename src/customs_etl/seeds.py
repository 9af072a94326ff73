"""GACC code lists as committed seed CSVs (scripts/build_seeds.py builds them)."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl


def read_seed(seeds_dir: Path, name: str) -> pl.DataFrame:
    """A seed as text columns: codes keep their leading zeros.

    Read once per version of the file: staging a backfill asks for the partners seed for every
    release file (thousands of reads of the same few kilobytes otherwise).
    """
    path = seeds_dir / f"{name}.csv"
    stat = path.stat()
    # A clone shares the data but not the frame: a caller renaming columns cannot alter the cache.
    return _read_csv(str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino).clone()


@functools.lru_cache(maxsize=32)
def _read_csv(path: str, mtime_ns: int, size: int, inode: int) -> pl.DataFrame:
    # The stat fields are the cache key only: an edited or replaced seed is read again.
    del mtime_ns, size, inode
    return pl.read_csv(path, infer_schema=False)


def partners(seeds_dir: Path) -> pl.DataFrame:
    return read_seed(seeds_dir, "partners")


def listed_commodity_codes(seeds_dir: Path) -> pl.Series:
    """Every code of GACC's list and the curated HS titles (seeds/commodities.csv), all levels:
    a code's length is its level, so the text alone names the code and level."""
    return read_seed(seeds_dir, "commodities")["hs_code"]


def customs_regime_codes(seeds_dir: Path) -> list[str]:
    return read_seed(seeds_dir, "customs_regimes")["customs_regime_code"].to_list()


def preliminary_labels(seeds_dir: Path) -> pl.DataFrame:
    return read_seed(seeds_dir, "preliminary_labels")
