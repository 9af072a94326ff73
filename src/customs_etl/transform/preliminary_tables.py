"""Parse GACC's English preliminary table "(4) China's Total Export & Import Values by
Country/Region, <Mon YYYY> (in USD)" from its static HTML page into a typed frame.

One output row per partner row and flow (total, export, import), values in whole currency
units computed exactly (Decimal, never floats). A page that is not such a table, or whose
signals disagree, is rejected whole with a ReleaseError.
"""

from __future__ import annotations

import hashlib
import html as html_module
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import polars as pl

from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.extract.html import Page, Table, clean, decode, detect_challenge_or_error, is_html

SCHEMA = {
    "period": pl.Date,
    "months_covered": pl.Int8,
    "partner_label": pl.String,
    "flow": pl.String,
    "value_month": pl.Int64,
    "value_ytd": pl.Int64,
    "yoy_ytd_pct": pl.Float64,
    "currency": pl.String,
    "source_row": pl.Int64,
}
FLOWS = ("total", "export", "import")

# Title variants: "(4)" or "(3)"; "by Country/Region" or, in 2018, "by Major Country (Region)";
# "RMB" and "CNY" both name the yuan. The period is read separately (_period).
_TITLE_WORDS = (
    r"China\s*[’'`´]?\s*s\s+Total\s+Export\s*(?:&|and)\s*Import\s+Values\s+by\s+"
    r"(?:Country\s*/\s*Region|Major\s+Countr(?:y|ies)\s*\(\s*Regions?\s*\))"
)
_TITLE = re.compile(
    r"\(\s*(?P<number>\d+)\s*\)\s*" + _TITLE_WORDS + r"\s*,?\s*(?P<period>[^()]{0,40}?)\s*"
    r"\(\s*in\s+(?P<currency>USD|CNY|RMB)\s*\)",
    re.IGNORECASE,
)
# The same words without number, period or currency: how an index page's link may read.
_TITLE_WORDS_ONLY = re.compile(_TITLE_WORDS, re.IGNORECASE)
# "Unit: USD1 Million", "Unit：CNY 100 Million", "Unit: RMB100 Million".
_UNIT = re.compile(
    r"Unit\s*[:：]?\s*(?P<currency>USD|US\$|CNY|RMB)\s*(?P<amount>[\d,]+)?\s*(?P<word>Million|Billion)",
    re.IGNORECASE,
)
_CURRENCY = {"usd": "USD", "us$": "USD", "cny": "CNY", "rmb": "CNY"}
_WORD_SCALE = {"million": 1_000_000, "billion": 1_000_000_000}
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {
    name: number
    for number, full in enumerate(_MONTH_NAMES.split(), start=1)
    for name in (full, full[:3], *(("sept",) if number == 9 else ()))
}
_PERIOD = re.compile(
    r"^(?:(?P<first>[A-Za-z]+)\.?\s*(?:-|–|—|~|to|and|&)\s*)?(?P<last>[A-Za-z]+)\.?\s*,?\s*"
    r"(?P<year>\d{4})$",
    re.IGNORECASE,
)
_MISSING = frozenset({"", "-", "--", "—", "–", "…"})
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")

# Cell names per layout, for error messages; the month columns exist only in the ten-cell one.
_MONTHLY_CELLS = (
    "partner",
    "Export & Import, month",
    "Export & Import, January to month",
    "Export, month",
    "Export, January to month",
    "Import, month",
    "Import, January to month",
    "Export & Import, YoY %",
    "Export, YoY %",
    "Import, YoY %",
)
_CUMULATIVE_CELLS = (
    "partner",
    "Export & Import, January to month",
    "Export, January to month",
    "Import, January to month",
    "Export & Import, YoY %",
    "Export, YoY %",
    "Import, YoY %",
)
_LAYOUTS = {len(_MONTHLY_CELLS): _MONTHLY_CELLS, len(_CUMULATIVE_CELLS): _CUMULATIVE_CELLS}


@dataclass(frozen=True)
class PreliminaryTable:
    frame: pl.DataFrame  # columns of SCHEMA
    title: str  # as printed, whitespace collapsed
    currency: str  # "USD" or "CNY"
    period: date  # first day of the release's last month
    months_covered: int  # 2 for a January-February release, else 1
    table_number: int  # 4, or 3 on the page that was renumbered
    unit: str  # the unit row as printed, e.g. "Unit: USD1 Million"


# A preliminary table page is about 50-150 KB; anything far larger is not one, and parsing
# it whole cost minutes and gigabytes (a 100 MB page: 2 min 24 s, 1.46 GB). Refused unparsed.
MAX_PAGE_BYTES = 4 * 1024 * 1024
# Pages parsed in this process, by content: a page checked when fetched is not parsed again
# when staged (one parse per page).
_PARSED: OrderedDict[bytes, PreliminaryTable] = OrderedDict()
_PARSED_KEEP = 32


def page_too_large(size: int, source: str) -> ReleaseError:
    return ReleaseTooLargeError(
        source,
        f"the page is too large: {size:,} bytes, over the limit of {MAX_PAGE_BYTES:,} bytes",
        limit=MAX_PAGE_BYTES,
    )


def parse_preliminary_table(html: bytes | str, source: str) -> PreliminaryTable:
    """Parse one preliminary table page; `source` (file name or URL) names it in errors.
    A page over MAX_PAGE_BYTES is refused before it is parsed."""
    data = html.encode() if isinstance(html, str) else html
    if len(data) > MAX_PAGE_BYTES:
        raise page_too_large(len(data), source)
    key = hashlib.sha256(data).digest()  # a table holds no trace of its source's name
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    table = _parse(html, source)
    _PARSED[key] = table
    while len(_PARSED) > _PARSED_KEEP:
        _PARSED.popitem(last=False)
    return table


def sniff_period_and_currency(head: bytes) -> tuple[str | None, str | None]:
    """The period (YYYY-MM) and currency a page's title names, from its first bytes and
    without parsing the page: what the landing zone's manifest records of a dropped page."""
    text = html_module.unescape(re.sub(r"<[^>]*>", " ", decode(head)))
    match = _TITLE.search(" ".join(text.split()))
    if match is None:
        return None, None
    key = _period_key(match["period"])
    currency = _CURRENCY[match["currency"].lower()]
    if isinstance(key, str) or key[1] is None:
        return None, currency
    return f"{key[2]}-{key[1]:02d}", currency


def _parse(html: bytes | str, source: str) -> PreliminaryTable:
    page = Page.parse(decode(html))
    title, number, period_text, title_currency = _find_title(page, source)
    unit_text, unit_currency, scale = _find_unit(page, source)
    if title_currency != unit_currency:
        raise ReleaseError(
            source,
            "the title and the unit row name different currencies",
            field="currency",
            expected="the same currency in the title and in the unit row",
            found=f"title {title!r} ({title_currency}), unit row {unit_text!r} ({unit_currency})",
        )
    rows, width = _partner_rows(page, source)
    period, months_covered = _period(period_text, width, source)
    records = [
        record
        for row_number, cells in rows
        for record in _records(cells, row_number, _LAYOUTS[width], scale, source)
    ]
    frame = pl.DataFrame(records, schema=SCHEMA, orient="row").with_columns(
        period=pl.lit(period, dtype=pl.Date),
        months_covered=pl.lit(months_covered, dtype=pl.Int8),
        currency=pl.lit(unit_currency),
    )
    return PreliminaryTable(frame, title, unit_currency, period, months_covered, number, unit_text)


def looks_like_challenge_or_error(body: bytes, content_type: str | None) -> str | None:
    """Why a response is not a preliminary table page (challenge, error, other page), or None.

    GACC's firewall answers with a JavaScript challenge (HTTP 412, sometimes 200), so a status
    code alone does not tell a table from a challenge: the body is looked at.
    """
    if not body.strip():
        return "the body is empty"
    if len(body) > MAX_PAGE_BYTES:
        return page_too_large(len(body), "the page").problem
    try:
        # A page that parses is a table page; parsed once, kept for its staging.
        parse_preliminary_table(body, "fetched page")
        if not content_type or is_html(content_type):
            return None
    except ReleaseError:
        pass
    page = Page.parse(decode(body))
    has_table = bool(page.tables) and bool(_UNIT.search(page.text))
    if has_table and _TITLE.search(page.text) and (not content_type or is_html(content_type)):
        return None
    reason = detect_challenge_or_error(body, content_type)
    if reason is not None:
        return reason
    if not page.tables:
        return "not a preliminary table page (no HTML table)"
    if not _UNIT.search(page.text):
        return 'not a preliminary table page (no unit row like "Unit: USD1 Million")'
    return (
        "not a preliminary table page (no title like \"(4) China's Total Export & Import "
        'Values by Country/Region, Mar 2026 (in USD)")'
    )


def is_preliminary_title(text: str) -> bool:
    """Whether a link text or heading names the by-country preliminary table (any variant)."""
    return bool(_TITLE_WORDS_ONLY.search(clean(text)))


def _find_title(page: Page, source: str) -> tuple[str, int, str, str]:
    """The table's title; where it is printed more than once, every copy must agree."""
    matches = list(_TITLE.finditer(page.text))
    if not matches:
        raise ReleaseError(
            source,
            "no preliminary table title found",
            expected="a title like \"(4) China's Total Export & Import Values by "
            'Country/Region, Mar 2026 (in USD)"',
        )
    # "Mar 2026" in the heading and "March 2026" in the table are the same period.
    signals = {
        (int(m["number"]), _period_key(m["period"]), _CURRENCY[m["currency"].lower()])
        for m in matches
    }
    if len(signals) > 1:
        raise ReleaseError(
            source,
            "the page prints different titles",
            expected="one table number, period and currency",
            found=sorted({m.group(0) for m in matches}),
        )
    first = matches[0]
    currency = _CURRENCY[first["currency"].lower()]
    return first.group(0), int(first["number"]), clean(first["period"]), currency


def _find_unit(page: Page, source: str) -> tuple[str, str, int]:
    """The unit row: currency and the factor to whole currency units (USD1 Million -> 10**6)."""
    matches = list(_UNIT.finditer(page.text))
    if not matches:
        raise ReleaseError(
            source,
            "no unit row found",
            expected='"Unit: USD1 Million" or "Unit: CNY 100 Million"',
        )
    units = set()
    for match in matches:
        amount = int((match["amount"] or "1").replace(",", ""))
        scale = amount * _WORD_SCALE[match["word"].lower()]
        units.add((_CURRENCY[match["currency"].lower()], scale))
    if len(units) > 1:
        raise ReleaseError(
            source,
            "the page prints different units",
            field="unit",
            expected="one unit for the whole table",
            found=sorted({m.group(0) for m in matches}),
        )
    currency, scale = units.pop()
    return matches[0].group(0), currency, scale


def _period_key(text: str) -> tuple[int | None, int | None, str] | str:
    match = _PERIOD.match(clean(text))
    if match is None:
        return clean(text).lower()
    first = _MONTHS.get(match["first"].lower()) if match["first"] else None
    return first, _MONTHS.get(match["last"].lower()), match["year"]


def _period(text: str, width: int, source: str) -> tuple[date, int]:
    """First day of the release's last month, and how many months its figures cover.

    A seven-cell (cumulative-only) table is a January-February release: one two-month period,
    never split into months. A ten-cell table covers one month plus January-to-month.
    """
    match = _PERIOD.match(text)
    first = _MONTHS.get(match["first"].lower()) if match and match["first"] else None
    last = _MONTHS.get(match["last"].lower()) if match else None
    if match is None or last is None or (match["first"] and first is None):
        raise ReleaseError(
            source,
            "the title's period is not a month",
            field="title",
            expected='a month and year such as "Mar 2026", or "Jan-Feb 2026"',
            found=text,
        )
    period = date(int(match["year"]), last, 1)
    if width == len(_CUMULATIVE_CELLS):
        if last != 2 or first not in (None, 1):
            raise ReleaseError(
                source,
                "a table with only January-to-month columns must be a January-February release",
                field="title",
                expected='a period such as "Jan-Feb 2026" or "Feb 2026"',
                found=text,
            )
        return period, 2
    if first is not None:
        raise ReleaseError(
            source,
            "a table with monthly columns must name one month, not a range",
            field="title",
            expected='a period such as "Mar 2026"',
            found=text,
        )
    return period, 1


def _partner_rows(page: Page, source: str) -> tuple[list[tuple[int, list[str]]], int]:
    """Partner rows of the data table as (1-based <tr> position, cells), and the row width.

    Rows before the first partner row are the title, unit and header rows. After it, every row
    must be a partner row of the same width, a blank row, or a one-cell note: nothing else is
    skipped silently.
    """
    candidates = [(table, _first_partner_row(table)) for table in page.tables]
    found = [(table, start) for table, start in candidates if start is not None]
    if not found:
        raise ReleaseError(
            source,
            "no partner rows found",
            expected="a table row with a partner and 7 or 10 figures",
        )
    # The data table is the one with the most rows after its first partner row.
    table, start = max(found, key=lambda pair: len(pair[0].rows) - pair[1])
    width = len(table.rows[start])
    rows = []
    for index in range(start, len(table.rows)):
        cells = table.rows[index]
        if not any(cells) or len(cells) == 1:
            continue
        if len(cells) != width:
            raise ReleaseError(
                source,
                f"a table row has {len(cells)} cells",
                row=index + 1,
                expected=f"{width} cells like the rows above it",
                found=cells,
            )
        rows.append((index + 1, cells))
    return rows, width


def _first_partner_row(table: Table) -> int | None:
    for index, cells in enumerate(table.rows):
        if len(cells) not in _LAYOUTS or not cells[0] or _is_number(cells[0]):
            continue
        if any(_is_number(cell) for cell in cells[1:]):
            return index
    return None


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(_strip_number(cell)))


def _strip_number(cell: str) -> str:
    return cell.replace(",", "").replace(" ", "").removesuffix("%")


def _records(
    cells: list[str], row: int, names: tuple[str, ...], scale: int, source: str
) -> list[tuple[object, ...]]:
    """Three output rows (total, export, import) of one partner row."""
    monthly = len(cells) == len(_MONTHLY_CELLS)
    records = []
    for position, flow in enumerate(FLOWS):
        # Ten cells: month and January-to-month per flow, then three YoY; seven: no month.
        month_at = 1 + 2 * position if monthly else None
        ytd_at = 2 + 2 * position if monthly else 1 + position
        yoy_at = len(cells) - 3 + position
        ytd = _value(cells[ytd_at], scale, row, names[ytd_at], source)
        month = None
        if month_at is not None:
            month = _value(cells[month_at], scale, row, names[month_at], source)
            if month is not None and ytd is not None and month > ytd:
                raise ReleaseError(
                    source,
                    "a month's value exceeds its January-to-month value",
                    row=row,
                    field=names[ytd_at],
                    expected=f"at least {cells[month_at]} ({names[month_at]})",
                    found=cells[ytd_at],
                )
        yoy = _percent(cells[yoy_at], row, names[yoy_at], source)
        records.append((None, None, cells[0], flow, month, ytd, yoy, None, row))
    return records


def _value(cell: str, scale: int, row: int, name: str, source: str) -> int | None:
    """'1,234.5' in USD1 Million -> 1_234_500_000, exactly."""
    if cell in _MISSING:
        return None
    text = _strip_number(cell)
    try:
        amount = Decimal(text) * scale if _NUMBER.match(text) else None
    except InvalidOperation:
        amount = None
    if amount is None or amount < 0 or amount != amount.to_integral_value():
        raise ReleaseError(
            source,
            "a value does not parse",
            row=row,
            field=name,
            expected="a non-negative number such as 1,234.5, '-' or empty",
            found=cell,
        )
    return int(amount)


def _percent(cell: str, row: int, name: str, source: str) -> float | None:
    if cell in _MISSING:
        return None
    text = _strip_number(cell)
    if not _NUMBER.match(text):
        raise ReleaseError(
            source,
            "a year-on-year change does not parse",
            row=row,
            field=name,
            expected="a percentage such as -3.2, '-' or empty",
            found=cell,
        )
    return float(text)
