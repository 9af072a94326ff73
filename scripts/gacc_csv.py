"""GACC's query-platform CSV exports, written as the platform writes them: the one writer of
the sample generator, the national-scale generator and the test fixtures (scripts/ is not a
package: importers put this folder on sys.path).

English export: every field quoted, a trailing comma on every line, CRLF, UTF-8, numbers with
thousands separators, GACC's own spelling "Supplimentary". Chinese export: plain CSV (quotes
only where needed), CRLF, GB18030.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

EN_HEADER = (
    "Date of data",
    "Trading partner code",
    "Trading partner",
    "Commodity code",
    "Commodity",
    "Customs Regime code",
    "Customs Regime",
    "Quantity",
    "Unit",
    "Supplimentary Quantity",  # GACC's own spelling
    "Supplimentary Unit",
    "US dollar",
)
ZH_HEADER = (
    "数据年月",
    "商品编码",
    "商品名称",
    "贸易伙伴编码",
    "贸易伙伴名称",
    "贸易方式编码",
    "贸易方式名称",
    "第一数量",
    "第一计量单位",
    "第二数量",
    "第二计量单位",
    "美元",
)
# Positions of the two customs-regime columns, absent from exports not split by regime.
REGIME_COLUMNS = (5, 6)
LINE_END = ",\r\n"  # the English export's trailing comma and CRLF


def without_regime(header: Sequence[str]) -> tuple[str, ...]:
    return tuple(name for i, name in enumerate(header) if i not in REGIME_COLUMNS)


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def english_line(fields: Iterable[str]) -> str:
    return ",".join(quoted(field) for field in fields) + LINE_END


def english_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """An English export: the header, then one line per row of text fields."""
    return "".join(english_line(line) for line in [header, *rows]).encode("utf-8")


def chinese_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """A Chinese export, GB18030-encoded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("gb18030")
