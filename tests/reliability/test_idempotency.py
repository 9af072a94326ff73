"""The same input twice, the same file under another name, and a new vintage of a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from support import export_file, run_job


def marts(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select * from marts.trade_monthly union all by name "
            "select * from marts.trade_by_commodity_monthly order by all"
        ).fetchall()
    finally:
        con.close()


def test_copies_are_recognised_and_new_vintages_replace(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    landing = tmp_path / "landing"
    original = export_file(
        landing / "import/2025-06", "wigs.csv", "202506", [("109", "67041100", 7)]
    )
    published = tmp_path / "customs.duckdb"
    run_job(str(landing), str(published))
    first = marts(published)

    # The same bytes under another name: recognised by checksum, nothing loaded twice.
    shutil.copy(original, landing / "import/2025-06" / "wigs (1).csv")
    again = run_job(str(landing), str(published))
    assert again.loaded == [] and sorted(again.skipped) == [
        "import/2025-06/wigs (1).csv",
        "import/2025-06/wigs.csv",
    ]
    assert marts(published) == first

    # Other bytes under a name already seen: a new vintage of that release, not an overwrite.
    export_file(landing / "import/2025-06", "wigs.csv", "202506", [("109", "67041100", 9)])
    (landing / "import/2025-06" / "wigs (1).csv").unlink()
    revised = run_job(str(landing), str(published))
    assert revised.loaded == ["import/2025-06/wigs.csv"]
    con = duckdb.connect(str(published), read_only=True)
    vintages = con.execute(
        "select r.status, sum(t.value) from meta.releases r join core.trade_detailed t "
        "using (release_id) where r.source_name = 'import/2025-06/wigs.csv' "
        "group by r.release_id, r.status order by min(r.received_at)"
    ).fetchall()
    current = con.execute(
        "select value_usd from marts.trade_monthly where flow = 'import'"
    ).fetchall()
    con.close()
    assert vintages == [("loaded", 7), ("loaded", 9)]  # both vintages kept in core
    assert current == [(9,)]  # the marts show the latest


def test_a_revision_arriving_before_its_original_ends_in_the_same_marts(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file in its own run, in publication order and reversed: the same marts."""
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    files = {
        # original, published with the monthly data; revision, two months later
        "wigs.published-2025-07-20.csv": 7,
        "wigs.published-2025-09-20.csv": 9,
    }
    results = []
    for order in (list(files), list(files)[::-1]):
        landing = tmp_path / "-".join(order) / "landing"
        published = landing.parent / "customs.duckdb"
        for name in order:
            export_file(
                landing / "import/2025-06", name, "202506", [("109", "67041100", files[name])]
            )
            run_job(str(landing), str(published))
        results.append(marts(published))
    in_order, reversed_order = results
    assert in_order == reversed_order
    con = duckdb.connect(str(published), read_only=True)
    current = con.execute("select value_usd from marts.trade_monthly where flow = 'import'")
    assert current.fetchall() == [(9,)]  # the revision wins, though it came first
    con.close()
