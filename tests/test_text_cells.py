"""Text cells are data, not formulas: units are checked against seeds/quantity_units.csv, and
text a spreadsheet would run (a leading = + - @) is refused where GACC never writes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import SEEDS_DIR, gacc_csv

from customs_etl.errors import ReleaseError
from customs_etl.extract.releases import describe_release
from customs_etl.transform import parse


def release_with(folder: Path, name: str, unit: str, commodity: str = "Wigs") -> Path:
    """An English export (the one GACC CSV writer) whose second row has this unit and name."""
    rows = [
        ("202502", "109", "Korea,DPR", "67041100", "Wigs", "1", "Kilogram", "0", "-", "10"),
        ("202502", "109", "Korea,DPR", "67042000", commodity, "2", unit, "0", "—", "20"),
    ]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gacc_csv.english_csv(gacc_csv.without_regime(gacc_csv.EN_HEADER), rows))
    return path


def stage(landing: Path, path: Path, tmp_path: Path) -> parse.ParsedRelease:
    release = describe_release(path, landing_dir=landing)
    return parse.parse_release(release, tmp_path / "parsed", SEEDS_DIR)


@pytest.mark.parametrize(
    ("unit", "commodity", "message"),
    [
        (
            '=HYPERLINK("http://x","y")',
            "Wigs",
            "export/2025-02/a.csv, row 3, field 'Unit': Unit "
            '\'=HYPERLINK("http://x","y")\' is not accepted; expected a unit GACC uses '
            "(seeds/quantity_units.csv), e.g. Kilogram or 千克, or '-'",
        ),
        (
            "Furlong",
            "Wigs",
            "export/2025-02/a.csv, row 3, field 'Unit': Unit 'Furlong' is not accepted; "
            "expected a unit GACC uses (seeds/quantity_units.csv), e.g. Kilogram or 千克, or "
            "'-'",
        ),
        (
            "Kilogram",
            "@SUM(A1:A9)",
            "export/2025-02/a.csv, row 3, field 'commodity name': commodity name "
            "'@SUM(A1:A9)' is not accepted; expected text, not a spreadsheet formula "
            "(no leading = + - @)",
        ),
        (
            "Kilogram",
            "-1+cmd",
            "export/2025-02/a.csv, row 3, field 'commodity name': commodity name '-1+cmd' is not "
            "accepted; expected text, not a spreadsheet formula (no leading = + - @)",
        ),
    ],
)
def test_a_formula_or_unknown_unit_is_refused_naming_the_value(
    tmp_path: Path, unit: str, commodity: str, message: str
) -> None:
    """Catches a formula or an invented unit reaching the marts and an analyst's spreadsheet;
    the message names the row, the column and the value."""
    landing = tmp_path / "landing"
    path = release_with(landing / "export/2025-02", "a.csv", unit, commodity)
    with pytest.raises(ReleaseError) as refused:
        stage(landing, path, tmp_path)
    assert refused.value.message() == message


def test_gacc_units_and_sub_item_dashes_pass(tmp_path: Path) -> None:
    """Catches the check refusing what GACC writes: Chinese and English units, '-' and '—'
    for a missing unit, and a commodity name with HS's leading dashes."""
    landing = tmp_path / "landing"
    # 万个 / Ten thousand pieces: in GACC's list, though no export in the sample uses it.
    for unit in ("千克", "Number of item", "-", "万个", "Ten thousand pieces"):
        path = release_with(landing / "export/2025-02", "a.csv", unit, "- - Of synthetic fibres")
        assert stage(landing, path, tmp_path).row_count == 2


def test_a_file_name_that_reads_as_a_formula_is_refused(tmp_path: Path) -> None:
    """Catches a file name like `=1+1.csv` reaching marts.trade_monthly_sources."""
    landing = tmp_path / "landing"
    path = release_with(landing / "export/2025-02", "=1+1.csv", "Kilogram")
    with pytest.raises(ReleaseError, match=r"the name '=1\+1.csv' starts with '='"):
        stage(landing, path, tmp_path)


def test_quarantine_reports_quote_values_as_text() -> None:
    """Catches a sample value or file name rendered as HTML or Markdown by Prefect's UI or a
    browser (the report used to embed `<img src=x onerror=...>` as it came)."""
    from markdown_it import MarkdownIt

    from customs_etl.validate import quarantine

    finding = quarantine.Finding(
        "expect_column_values_to_be_in_set",
        "customs_regime_code: 1 unexpected row(s) | [link](http://x)",
        column="customs_regime_code",
        count=1,
        samples=["<img src=x onerror=alert(1)>", "*bold* `code`"],
        sample_rows=[7],
    )
    report = quarantine.new_report(
        "ab" * 32, "export/2025-02/a`b|c.csv", Path("/kept/x"), "validate", [finding]
    )
    rendered = MarkdownIt("commonmark").enable("table").render(report.markdown())
    assert "<img" not in rendered and "<a " not in rendered and "<em>" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered  # shown, as text
    assert "<code>export/2025-02/a`b|c.csv</code>" in rendered
    assert rendered.count("<td>") == 5  # one row of five: no pipe in a value added a column
    assert "[link](http://x)" in rendered  # the message's text, not a link
