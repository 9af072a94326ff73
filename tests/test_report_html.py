"""The HTML report on a real warehouse, checked as text and as Chromium renders it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from PIL import Image
from support import export_file, load
from typer.testing import CliRunner

from customs_etl.cli import app
from customs_etl.load import connection
from customs_etl.publish import build as publication
from customs_etl.report.charts import FLOW_COLOURS, YEAR_COLOURS
from customs_etl.report.html import ReportFiles, write_html_report
from customs_etl.report.text import HalfYear

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
H1_2025 = HalfYear.parse("2025H1")
HAIR, RICE, WIGS = "67030000", "10063020", "67041100"

# China's exports to and imports from the DPRK (GACC 109) by month: H1 2024 and H1 2025 cover
# January-March. Exports 40m -> 52m (+30.0%), imports 20m -> 23m (+15.0%), total 60m -> 75m
# (+25.0%). February 2025 exports come in two files; one file also carries Korea (133).
MONTHS: dict[tuple[str, str], list[tuple[str, str, int]]] = {
    ("export", "2024-01"): [("109", HAIR, 8_000_000), ("109", RICE, 4_000_000)],
    ("export", "2024-02"): [("109", HAIR, 8_000_000), ("109", RICE, 5_000_000)],
    ("export", "2024-03"): [("109", HAIR, 9_000_000), ("109", RICE, 6_000_000)],
    ("export", "2024-07"): [("109", HAIR, 9_000_000)],
    ("import", "2024-01"): [("109", WIGS, 6_000_000)],
    ("import", "2024-02"): [("109", WIGS, 7_000_000)],
    ("import", "2024-03"): [("109", WIGS, 7_000_000)],
    ("export", "2025-01"): [
        ("109", HAIR, 10_000_000),
        ("109", RICE, 5_000_000),
        ("133", HAIR, 5_000_000),
    ],
    ("export", "2025-03"): [("109", HAIR, 12_000_000), ("109", RICE, 8_000_000)],
    ("import", "2025-01"): [("109", WIGS, 7_000_000)],
    ("import", "2025-02"): [("109", WIGS, 8_000_000)],
    ("import", "2025-03"): [("109", WIGS, 8_000_000)],
}
SPLIT_MONTH = {
    "a.csv": [("109", HAIR, 11_000_000)],
    "b.csv": [("109", RICE, 6_000_000)],
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report_html")
    landing = root / "landing"
    files = [
        export_file(landing / flow / month, "a.csv", month.replace("-", ""), lines)
        for (flow, month), lines in MONTHS.items()
    ] + [
        export_file(landing / "export/2025-02", name, "202502", lines)
        for name, lines in SPLIT_MONTH.items()
    ]
    path = root / "customs.duckdb"
    build = publication.start_build(path)
    load(build, landing, files, root / "staging")
    publication.publish(build, path)
    return path


@pytest.fixture(scope="module")
def con(published: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    opened = connection.connect(published, read_only=True)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def report(con: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    return write_html_report(con, "PRK", H1_2025, tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def page(report: ReportFiles) -> str:
    return report.html.read_text(encoding="utf-8")


def figure(markup: str, figure_id: str) -> str:
    match = re.search(rf'<figure id="{figure_id}">(.*?)</figure>', markup, re.DOTALL)
    assert match, f"no figure {figure_id}"
    return match.group(1)


def test_files_are_named_after_partner_and_half(report: ReportFiles) -> None:
    assert report.html.name == "report-prk-2025h1.html"
    assert report.png.name == "report-prk-2025h1.png"


def test_png_is_the_monthly_chart_at_a_legible_size(report: ReportFiles) -> None:
    assert report.png.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(report.png) as image:
        assert image.format == "PNG"
        assert image.width >= 1200 and image.height >= 800
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # The export and import bars are drawn in their colours.
    counts = {colour: n for n, colour in colours}
    for flow, hex_colour in FLOW_COLOURS.items():
        assert counts.get(rgb(hex_colour), 0) > 2_000, f"no {flow} bars in the PNG"


def test_half_year_comparison_shows_the_hand_computed_figures(page: str) -> None:
    assert "<h2>H1 2025 vs H1 2024</h2>" in page
    table = page[page.index("<h2>H1 2025 vs H1 2024</h2>") : page.index("<h2>Month by month")]
    for before, after, pct in [
        ("$40.0 million", "$52.0 million", "+30.0%"),  # China's exports
        ("$20.0 million", "$23.0 million", "+15.0%"),  # China's imports
        ("$60.0 million", "$75.0 million", "+25.0%"),  # total
    ]:
        assert re.search(
            rf"<td[^>]*>{re.escape(before)}</td><td[^>]*>{re.escape(after)}</td>"
            rf"<td[^>]*>{re.escape(pct)}</td>",
            table,
        ), (before, after, pct)
    chart = figure(page, "half-year-chart")
    assert ">China's trade with Korea,DPR: H1 2025 vs H1 2024<" in chart  # the SVG title
    for label in ["$40.0m", "$52.0m", "$23.0m", "$75.0m", "+30.0%", "+15.0%", "+25.0%"]:
        assert label in chart, label


def test_article_commodities_and_sources_are_on_the_page(page: str) -> None:
    assert "China&#x27;s trade with Korea,DPR in H1 2025 (3 of 6 months): $75.0 million" in page
    assert "6704" in page and "Wigs, false beards" in page
    assert "March 2025" in page  # latest month in the marts
    assert "14 release files loaded (0 rejected)" in page
    sources = page[page.index("<h2>Sources</h2>") :]
    assert "7 release files behind the H1 2025 figures for PRK" in sources
    assert "export/2025-02/b.csv" in sources and "export/2024-01/a.csv" not in sources
    # The file that also carries Korea contributes only its DPRK rows here.
    assert re.search(r"export/2025-01/a\.csv</td>.*?<td[^>]*>15,000,000</td>", sources)
    assert len(re.findall(r"<code>[0-9a-f]{64}</code>", sources)) == 7


def test_page_is_self_contained(page: str) -> None:
    assert re.findall(r"https?://", page) == []
    assert "<script" not in page and "<link" not in page and " src=" not in page
    assert page.count("<svg ") == 3  # half-year, monthly and yearly charts
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids repeat across the three charts"


def test_output_is_deterministic_apart_from_generated_at(
    con: duckdb.DuckDBPyConnection, report: ReportFiles, tmp_path: Path
) -> None:
    again = write_html_report(con, "prk", H1_2025, tmp_path, generated_at=dt.datetime(2000, 1, 1))

    def stable(path: Path) -> str:
        return re.sub(r"Generated at [^<]*", "", path.read_text(encoding="utf-8"))

    assert "Generated at 2000-01-01 00:00:00" in again.html.read_text(encoding="utf-8")
    assert stable(again.html) == stable(report.html)
    assert again.png.read_bytes() == report.png.read_bytes()


def test_a_partner_without_trade_still_gets_a_report(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    files = write_html_report(con, "XCE", H1_2025, tmp_path)
    text = files.html.read_text(encoding="utf-8")
    assert "No trade with XCE in H1 2025" in text and text.count("<svg ") == 3


def test_cli_report_writes_html_and_png(published: Path, tmp_path: Path) -> None:
    args = ["report", "--partner", "prk", "--period", "2025H1", "--warehouse", str(published)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html, png = tmp_path / "report-prk-2025h1.html", tmp_path / "report-prk-2025h1.png"
    assert "$75.0 million, +25.0% on a year earlier" in result.output
    assert str(html) in result.output and str(png) in result.output
    assert html.is_file() and png.read_bytes()[:8] == PNG_SIGNATURE


def test_chromium_renders_both_charts(report: ReportFiles, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: this test renders the report in headless Chromium. "
            f"Install it with: {INSTALL_CHROMIUM}",
            pytrace=False,
        )
    url = report.html.resolve().as_uri()
    dom = chromium(tmp_path / "dom", "--dump-dom", url).stdout
    for figure_id in ("half-year-chart", "monthly-chart", "yearly-chart"):
        chart = figure(dom, figure_id)
        assert "<svg" in chart and "<path" in chart, f"{figure_id} has no drawn SVG in the DOM"
    assert "+30.0%" in figure(dom, "half-year-chart")

    shot = tmp_path / "shot.png"
    chromium(tmp_path / "shot", f"--screenshot={shot}", "--window-size=1280,2400", url)
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
        assert pixels.size == (1280, 2400)
        colours = {colour: n for n, colour in pixels.getcolors(maxcolors=1 << 22) or []}
    non_white = sum(n for colour, n in colours.items() if min(colour) < 245)
    assert non_white > 0.03 * 1280 * 2400, "the screenshot is (nearly) blank"
    # Bars of both charts are painted: the year colours of the half-year chart and the flow
    # colours of the monthly chart (text alone would not paint these).
    for hex_colour in (*YEAR_COLOURS, *FLOW_COLOURS.values()):
        assert colours.get(rgb(hex_colour), 0) > 1_000, f"no {hex_colour} pixels: chart missing"


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr}"
    return result


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255)


def test_the_yearly_chart_shows_every_year_and_how_complete(page: str) -> None:
    chart = figure(page, "yearly-chart")
    assert ">China's trade with Korea,DPR by year, 2024–2025<" in chart
    # 2024: January-March and July loaded (4 months); 2025: January-March.
    assert "$69.0m" in chart and "(4 months)" in chart  # 40m + 9m exports, 20m imports
    assert "$75.0m" in chart and "(3 months)" in chart
