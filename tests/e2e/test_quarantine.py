"""Every bad input of the corpus is quarantined with a message a person understands, nothing of
it is loaded, the good files of the same run still load, and the published marts answer
exactly as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from support import FIXTURES, export_file, run_job

from customs_etl.errors import RejectedReleasesError
from customs_etl.validate import quarantine

BAD = FIXTURES / "bad"
GOOD_ROW = ("109", "67041100", 1_204_551)

# file in tests/fixtures/bad -> (where it lands, what the message must say)
CORPUS = {
    "empty.csv": ("import/2025-01", "the file is empty"),
    "header_only.csv": ("import/2025-01", "header but no data rows"),
    "truncated_mid_row.csv": ("import/2025-01", "cut off in the middle of a row"),
    "challenge_page.csv": ("import/2025-01", "anti-bot challenge page"),
    "wrong_encoding.csv": ("import/2025-01", "declares UTF-8"),
    "negative_value.csv": ("import/2025-01", "value: 1 unexpected row(s), e.g. -880000"),
    "unknown_partner.csv": ("import/2025-01", "partner codes not in the GACC code list"),
    "text_in_number.csv": ("import/2025-01", "row 3, field 'Quantity'"),
    "mixed_currencies.csv": ("import/2025-01", "one currency per file"),
    "duplicate_of_good.csv": ("import/2025-01", "repeat rows already delivered by"),
    # Rows of January in a folder that says February.
    "period_mismatch.csv": ("import/2025-02", "another month than its name or folder says"),
}

MARTS_QUERY = """
    select 'm', * from marts.trade_monthly
    union all by name select 'c', * from marts.trade_by_commodity_monthly
    order by all
"""


def answers(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(MARTS_QUERY).fetchall()
    finally:
        con.close()


@pytest.fixture
def published(prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CUSTOMS_WORK_DIR", str(tmp_path / "work"))
    landing = tmp_path / "landing"
    export_file(landing / "import/2025-01", "good.csv", "202501", [GOOD_ROW])
    path = tmp_path / "warehouse" / "customs.duckdb"
    run_job(str(landing), str(path))
    return path


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_is_quarantined_and_nothing_published_changes(
    name: str, published: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    before = answers(published)
    folder, message = CORPUS[name]
    if name == "period_mismatch.csv":
        target = export_file(landing / folder, name, "202501", [("109", "67042000", 5)])
    else:
        target = landing / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BAD / name, target)
    received = target.read_bytes()
    # A good file of another month in the same run still loads.
    export_file(landing / "export/2025-03", "fine.csv", "202503", [("109", "10063020", 42)])

    with pytest.raises(RejectedReleasesError) as caught:
        run_job(str(landing), str(published))

    assert message in str(caught.value)
    after = answers(published)
    assert [row for row in after if row[1].month != 3] == before  # nothing of the bad file
    assert any(row[1].month == 3 for row in after)  # the good file of the same run loaded
    [report] = quarantine.read_reports(published.parent / "quarantine")
    assert report.source_name == f"{folder}/{name}"
    assert message in report.summary()
    stored = json.loads((published.parent / "quarantine" / f"{report.release_id}.json").read_text())
    # The raw file is kept, as received, in the landing zone under its checksum.
    assert Path(stored["path"]).read_bytes() == received and stored["findings"]
    assert Path(stored["path"]).is_relative_to(published.parent / "landing_zone" / "objects")
    assert (
        (published.parent / "quarantine" / f"{report.release_id}.md")
        .read_text()
        .startswith(f"# Quarantined: `{folder}/{name}`")
    )
    assert target.read_bytes() == received  # kept as received
    con = duckdb.connect(str(published), read_only=True)
    status = con.execute(
        "select status from meta.releases where source_name = ?", [f"{folder}/{name}"]
    ).fetchall()
    con.close()
    assert status == [("rejected",)]


def test_a_failing_release_does_not_hold_back_its_validation_batch(
    published: Path, tmp_path: Path
) -> None:
    """Files of one month and flow are validated in one GX run: only the bad one is refused."""
    landing = tmp_path / "landing"
    folder = landing / "import/2025-04"
    bad = export_file(
        folder, "a_wigs.csv", "202504", [("109", "67041100", 7), ("109", "67042000", -5)]
    )
    export_file(folder, "b_rice.csv", "202504", [("116", "10063020", 42)])
    export_file(folder, "c_eyelashes.csv", "202504", [("133", "67049000", 9)])

    with pytest.raises(RejectedReleasesError) as caught:
        run_job(str(landing), str(published))

    assert str(caught.value).startswith("4 release file(s) seen: 2 loaded")
    [report] = quarantine.read_reports(published.parent / "quarantine")
    assert report.source_name == "import/2025-04/a_wigs.csv" and report.stage == "validate"
    [finding] = report.findings
    assert finding.message.startswith("value: 1 unexpected row(s), e.g. -5 at source row 3;")
    assert Path(report.path).read_bytes() == bad.read_bytes()  # the kept copy, as received
    con = duckdb.connect(str(published), read_only=True)
    loaded = con.execute(
        "select source_name, status from meta.releases"
        " where source_name like 'import/2025-04/%' order by 1"
    ).fetchall()
    con.close()
    assert loaded == [
        ("import/2025-04/a_wigs.csv", "rejected"),
        ("import/2025-04/b_rice.csv", "loaded"),
        ("import/2025-04/c_eyelashes.csv", "loaded"),
    ]


def test_a_fixed_file_loads_on_the_next_run_and_leaves_quarantine(
    published: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from customs_etl.cli import app

    landing = tmp_path / "landing"
    bad = landing / "import/2025-04/wigs.csv"
    bad.parent.mkdir(parents=True)
    shutil.copy(BAD / "negative_value.csv", bad)
    bad.write_bytes(bad.read_bytes().replace(b"202501", b"202504"))
    with pytest.raises(RejectedReleasesError):
        run_job(str(landing), str(published))
    status = CliRunner().invoke(app, ["status", "--warehouse", str(published)])
    assert "1 release(s) quarantined" in status.output
    assert "import/2025-04/wigs.csv: value: 1 unexpected row(s)" in status.output

    bad.write_bytes(bad.read_bytes().replace(b'"-880,000"', b'"880,000"'))  # fixed by a person
    summary = run_job(str(landing), str(published))
    assert summary.loaded == ["import/2025-04/wigs.csv"]
    status = CliRunner().invoke(app, ["status", "--warehouse", str(published)])
    assert "0 release(s) quarantined" in status.output
    assert "Data as of: export" not in status.output and "import 2025-04" in status.output


def test_a_january_to_month_value_that_falls_is_quarantined(
    published: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    january_february = landing / "preliminary/2026-02/prelim_202602_usd.html"
    january_february.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "preliminary" / "prelim_202602_janfeb_usd.html", january_february)
    run_job(str(landing), str(published))
    before = answers(published)

    # March's table says the USA's January-to-March exports were 60,000.0 (USD1 Million),
    # below January-February's 65,125.2: a wrong table, month or unit, never loaded.
    march = landing / "preliminary/2026-03/prelim_202603_usd.html"
    march.parent.mkdir(parents=True)
    shutil.copy(BAD / "ytd_falls_202603.html", march)
    with pytest.raises(RejectedReleasesError) as caught:
        run_job(str(landing), str(published))

    message = str(caught.value)
    assert "preliminary/2026-03/prelim_202603_usd.html" in message
    assert "ytd_change_from_previous_table: 1 unexpected row(s)" in message
    assert "does not fall from the previous month's table" in message
    assert answers(published) == before
    [report] = quarantine.read_reports(published.parent / "quarantine")
    assert report.source_name == "preliminary/2026-03/prelim_202603_usd.html"
