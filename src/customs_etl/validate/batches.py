"""Batching for validation, written once: items grouped by what one Great Expectations run
must share, each batch at most a number of rows. The job batches parsed releases by HS level
and currency (one task run each); the GX adapter regroups a batch's frames by their columns."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the parsers import polars; the job imports this module on every run
    from customs_etl.transform.parse import ParsedRelease

# Rows per GX run at most: a batch is converted to pandas whole and GX adds its masks (~0.7 KB a
# row at peak); GX plans for ~0.1-0.15 s a run whatever the rows, a quarter of a run this size.
MAX_BATCH_ROWS = 500_000

T = TypeVar("T")


def in_batches(
    items: Sequence[T], key: Callable[[T], Hashable], rows: Callable[[T], int], max_rows: int
) -> list[list[T]]:
    """The items grouped by key, in their order, each group cut into consecutive batches of at
    most max_rows rows (an item bigger than that alone)."""
    groups: dict[Hashable, list[list[T]]] = {}
    sizes: dict[Hashable, int] = {}
    for item in items:
        batches = groups.setdefault(key(item), [[]])
        if batches[-1] and sizes[key(item)] + rows(item) > max_rows:
            batches.append([])
            sizes[key(item)] = 0
        batches[-1].append(item)
        sizes[key(item)] = sizes.get(key(item), 0) + rows(item)
    return [batch for batches in groups.values() for batch in batches]


def validation_batches(
    parsed: list[ParsedRelease], max_rows: int = MAX_BATCH_ROWS
) -> list[list[ParsedRelease]]:
    """The releases grouped as the detailed-trade suite can validate them in one run: same
    HS level and currency, at most max_rows rows."""
    return in_batches(
        parsed,
        key=lambda r: (r.hs_level, r.currency),
        rows=lambda r: r.row_count,
        max_rows=max_rows,
    )
