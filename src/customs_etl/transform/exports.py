"""Parse GACC online-query exports (English UTF-8 and Chinese GB18030 CSV, or XLSX) into a
typed frame.

Both dialects and both formats end up with the same staging columns; nothing is dropped
silently: a value that does not parse rejects the whole file with the row and field named.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.extract.html import detect_challenge_or_error
from customs_etl.transform.xlsx import ZIP_MAGIC, read_xlsx_text

# Header of each dialect -> staging column. English spellings are GACC's own ("Supplimentary").
_ENGLISH_COLUMNS = {
    "Date of data": "period_raw",
    "Trading partner code": "partner_code",
    "Trading partner": "partner_name_source",
    "Commodity code": "hs_code",
    "Commodity": "commodity_name_source",
    "Customs Regime code": "customs_regime_code",
    "Customs Regime": "customs_regime_name_source",
    "Registration place code": "registration_place_code",
    "Registration place": "registration_place_name_source",
    "Quantity": "quantity",
    "Unit": "quantity_unit",
    "Supplimentary Quantity": "supplementary_quantity",
    "Supplementary Quantity": "supplementary_quantity",
    "Supplimentary Unit": "supplementary_unit",
    "Supplementary Unit": "supplementary_unit",
}
_CHINESE_COLUMNS = {
    "数据年月": "period_raw",
    "商品编码": "hs_code",
    "商品名称": "commodity_name_source",
    "贸易伙伴编码": "partner_code",
    "贸易伙伴名称": "partner_name_source",
    "贸易方式编码": "customs_regime_code",
    "贸易方式名称": "customs_regime_name_source",
    "注册地编码": "registration_place_code",
    "注册地名称": "registration_place_name_source",
    "第一数量": "quantity",
    "第一计量单位": "quantity_unit",
    "第二数量": "supplementary_quantity",
    "第二计量单位": "supplementary_unit",
}
# The value column's header names the currency; the two series are never converted.
_VALUE_COLUMNS = {
    "US dollar": "USD",
    "美元": "USD",
    "RMB": "CNY",
    "Renminbi": "CNY",
    "人民币": "CNY",
}
REQUIRED = ("period_raw", "partner_code", "hs_code")
OPTIONAL_TEXT = (
    "customs_regime_code",
    "registration_place_code",
    "quantity_unit",
    "supplementary_unit",
    "commodity_name_source",
    "partner_name_source",
)
_MISSING_MARKS = ("", "-", "—", "–")
_QUANTITIES = ("quantity", "supplementary_quantity")
_FIRST_DATA_LINE = 2  # line 1 is the header
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
# A header line that ends at its first newline for any CSV reader: fields quoted whole or not
# at all, and a first character that no reader skips (whitespace, a second BOM).
_PLAIN_HEADER = re.compile(r'(?:"[^"\n]*"|\w[^",\n]*)(?:,(?:"[^"\n]*"|[^",\n]*))*\r?')


@dataclass(frozen=True)
class ParsedExport:
    frame: pl.DataFrame
    dialect: str  # "gacc_query_en" or "gacc_query_zh"
    encoding: str  # "utf-8" or "gb18030" for CSV; "xlsx" for a workbook
    currency: str


def parse_detailed_export(
    path: Path, display_name: str | None = None, *, max_bytes: int | None = None
) -> ParsedExport:
    """Read one query export into typed staging columns; a ReleaseError says what is wrong.

    `max_bytes` caps what is read (a .csv.gz or a workbook: unpacked); a larger file is refused
    before its content is parsed (see Settings.max_release_bytes).
    """
    name = display_name or path.name
    data = _read_bytes(path, name, max_bytes)
    # Known by content (every .xlsx is a zip) or by name, so a wrong suffix cannot mislead.
    if data.startswith(ZIP_MAGIC) or path.name.lower().endswith(".xlsx"):
        raw, encoding = read_xlsx_text(data, name, max_bytes), "xlsx"
    else:
        raw, encoding = _read_csv_text(data, name)
    columns = [c.strip().lstrip("\ufeff") for c in raw.columns]
    raw.columns = columns
    dialect, mapping = _detect_dialect(columns, name)
    value_column, currency = _value_column(columns, name)
    renamed = raw.rename({c: mapping[c] for c in columns if c in mapping} | {value_column: "value"})
    missing = [c for c in REQUIRED if c not in renamed.columns]
    if missing:
        raise ReleaseError(name, "required columns are missing", expected=", ".join(missing))
    headers = {mapping[c]: c for c in columns if c in mapping} | {"value": value_column}
    frame = _typed(renamed, name, headers)
    if frame.is_empty():
        raise ReleaseError(name, "the file has a header but no data rows")
    return ParsedExport(frame.with_columns(currency=pl.lit(currency)), dialect, encoding, currency)


def _read_csv_text(data: bytes, name: str) -> tuple[pl.DataFrame, str]:
    """UTF-8 (with or without BOM) or GB18030, decoded strictly: a wrong byte is an error.

    The frame is text columns plus `source_row`, the line number of each row.
    """
    if not data or data.isspace():  # as `not data.strip()`, without copying the file
        raise ReleaseError(name, "the file is empty", expected="a CSV header and data rows")
    if reason := detect_challenge_or_error(data[:65536], None):
        raise ReleaseError(name, f"this is not a CSV export: {reason}", expected="a CSV export")
    frame, encoding = _read_if_utf8(data), "utf-8"
    if frame is None:
        text, encoding = _decode(data, name)
        # Polars reads UTF-8 bytes about 3x faster than a Python string.
        utf8 = data.removeprefix(codecs.BOM_UTF8) if encoding == "utf-8" else text.encode("utf-8")
        frame = _read_csv(utf8, name)
    return frame.with_row_index("source_row", offset=_FIRST_DATA_LINE), encoding


def _read_if_utf8(data: bytes) -> pl.DataFrame | None:
    """The frame of a file proven UTF-8 without decoding it in Python (1 ms for 1.6 MB), or None.

    Polars checks every byte after the header strictly but decodes the header lossily, so the
    header is checked here: a plain one-line header, the only kind whose end is certain. None
    (GB18030, a stray byte, a CSV fault) leaves the verdict and its wording to the strict path.
    """
    body = data.removeprefix(codecs.BOM_UTF8)
    end = body.find(b"\n")
    try:
        header = body[: end if end >= 0 else len(body)].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _PLAIN_HEADER.fullmatch(header) is None:
        return None
    try:
        return pl.read_csv(io.BytesIO(body), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError:
        return None


def _read_csv(utf8: bytes, name: str) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(utf8), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as error:
        raise ReleaseError(
            name,
            "the file is not well-formed CSV: cut off in the middle of a row or badly quoted "
            f"({_first_cause(error)})",
            expected="complete rows of quoted fields",
        ) from error


def _read_bytes(path: Path, name: str, max_bytes: int | None) -> bytes:
    """The file's bytes; a gzip-compressed export (`.csv.gz`) is read decompressed.

    Both are refused above `max_bytes` before being read whole: a file by its size on disk, a
    .csv.gz by its decompressed size, counted while decompressing so a gzip bomb stops early.
    """
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ReleaseTooLargeError(
            name,
            f"the file is too large: {size:,} bytes, over the limit of {max_bytes:,} bytes",
            limit=max_bytes,
        )
    # Unbuffered: a buffered handle that holds the magic joins its buffer to the rest of the
    # file, one more copy of it (0.1-0.2 ms for 1.6 MB).
    with path.open("rb", buffering=0) as handle:
        if handle.read(len(_GZIP_MAGIC)) != _GZIP_MAGIC:
            handle.seek(0)
            return handle.read()
        handle.seek(0)
        return _gunzip(handle, name, size, max_bytes)


def _gunzip(handle: io.FileIO, name: str, size: int, max_bytes: int | None) -> bytes:
    """Decompress in 1 MiB steps and stop one step past the cap: a bomb is never expanded."""
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=handle) as unpacked:
            while chunk := unpacked.read(_CHUNK):
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise ReleaseTooLargeError(
                        name,
                        f"the gzip file ({size:,} bytes) decompresses to more than the limit "
                        f"of {max_bytes:,} bytes (reading stopped after {total:,} bytes)",
                        limit=max_bytes,
                    )
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise ReleaseError(
            name, f"the gzip file is damaged ({error})", expected="a complete .csv.gz"
        ) from error
    return b"".join(chunks)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as error:
            raise ReleaseError(
                name,
                "the file declares UTF-8 (it starts with a byte-order mark) but is not UTF-8",
                expected="UTF-8 text after the mark, or GB18030 without it",
            ) from error
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ReleaseError(name, "the file is neither UTF-8 nor GB18030 text", expected="a CSV export")


def _first_cause(error: Exception) -> str:
    """Polars' own sentence about the fault, without its generic advice."""
    text = str(error)
    cause = text.split("Original error:", 1)[-1].strip().strip("`").strip()
    return cause.splitlines()[-1].strip("`") if cause else text.splitlines()[0]


def _detect_dialect(columns: list[str], name: str) -> tuple[str, dict[str, str]]:
    if "Date of data" in columns:
        return "gacc_query_en", _ENGLISH_COLUMNS
    if "数据年月" in columns:
        return "gacc_query_zh", _CHINESE_COLUMNS
    raise ReleaseError(
        name,
        "the header is not a GACC query export",
        expected="a first column 'Date of data' (English) or '数据年月' (Chinese)",
        found=",".join(columns[:4]),
    )


def _value_column(columns: list[str], name: str) -> tuple[str, str]:
    present = [c for c in columns if c in _VALUE_COLUMNS]
    if len(present) != 1:
        raise ReleaseError(
            name,
            "exactly one value column is needed (one currency per file)",
            expected="one of " + ", ".join(repr(c) for c in _VALUE_COLUMNS),
            found=present or None,
        )
    return present[0], _VALUE_COLUMNS[present[0]]


def _typed(frame: pl.DataFrame, name: str, headers: dict[str, str]) -> pl.DataFrame:
    """Cast text to types, keeping the first offending row of any column for the error.

    Three frame operations (strip, mark missing, cast and add absent columns): each has a fixed
    cost, and the usual file, where every cast succeeds, is told by null counts alone.
    """
    names = [c for c in frame.columns if c in (*REQUIRED, "value", *OPTIONAL_TEXT)]
    names += [c for c in _QUANTITIES if c in frame.columns]
    # Numbers are first cast unstripped (0.3 ms less for 10k rows): Polars' casts refuse a
    # number with blanks around it, so a padded one fails and all is done again stripped.
    cleaned, typed = _clean_and_cast(frame, _typed_exprs(tuple(names), strip_numbers=False))
    if _casts_failed(cleaned, typed):
        cleaned, typed = _clean_and_cast(frame, _typed_exprs(tuple(names), strip_numbers=True))
    if _casts_failed(cleaned, typed):
        # The rare bad file: the error is found as it always was, from the same frames.
        _raise_on_failed_casts(cleaned, cleaned.with_columns(**_casts(names)), name, headers)
    return typed


def _clean_and_cast(
    frame: pl.DataFrame, exprs: tuple[tuple[pl.Expr, ...], ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    strip, mark, cast = exprs
    cleaned = frame.select(strip).with_columns(mark)
    return cleaned, cleaned.select(cast)


@functools.lru_cache(maxsize=64)
def _typed_exprs(names: tuple[str, ...], *, strip_numbers: bool) -> tuple[tuple[pl.Expr, ...], ...]:
    """`_typed`'s expressions for one set of columns, built once: building them took 0.3 ms a
    file, more than running them on a small file.

    Without `strip_numbers` the number columns are neither stripped nor, for the value, marked
    missing: a missing value fails its cast all the same.
    """
    numbers = () if strip_numbers else ("period_raw", "value", *_QUANTITIES)
    casts = _casts(names)
    strip = (
        pl.col("source_row"),
        *[pl.col(c) if c in numbers else pl.col(c).str.strip_chars() for c in names],
    )
    marked = [c for c in names if c not in REQUIRED and not (c == "value" and numbers)]
    mark = tuple(_null_if_missing(c) for c in marked)
    cast = (
        pl.col("source_row"),
        *[casts.get(c, pl.col(c)).alias(c) for c in names if c != "period_raw"],
        casts["period"].alias("period"),
        *[pl.lit(None, dtype=pl.String).alias(c) for c in OPTIONAL_TEXT if c not in names],
        *[pl.lit(None, dtype=pl.Float64).alias(c) for c in _QUANTITIES if c not in names],
    )
    return strip, mark, cast


def _casts(names: Sequence[str]) -> dict[str, pl.Expr]:
    return {
        "period": pl.col("period_raw").str.strptime(pl.Date, "%Y%m", strict=False),
        "value": _number(pl.col("value")).cast(pl.Int64, strict=False),
        **{c: _number(pl.col(c)).cast(pl.Float64, strict=False) for c in _QUANTITIES if c in names},
    }


def _casts_failed(cleaned: pl.DataFrame, typed: pl.DataFrame) -> bool:
    """Whether `_raise_on_failed_casts` will find a failure, told without a pass over the rows:
    a null casts to a null, so a quantity that failed has more nulls than its text."""
    if typed["period"].null_count() or typed["value"].null_count():
        return True
    return any(
        typed[c].null_count() > cleaned[c].null_count() for c in _QUANTITIES if c in cleaned.columns
    )


def _null_if_missing(column: str) -> pl.Expr:
    missing = pl.col(column).is_in(_MISSING_MARKS)
    return pl.when(missing).then(None).otherwise(pl.col(column)).alias(column)


def _number(expr: pl.Expr) -> pl.Expr:
    """'1,161' -> '1161'; the thousands separator is the only decoration GACC adds."""
    return expr.str.replace_all(",", "", literal=True)


_EXPECTED = {
    "period": "a month as YYYYMM, e.g. 202506",
    "value": "a whole number of currency units, e.g. 1,161",
    "quantity": "a number, '-' or empty",
    "supplementary_quantity": "a number, '-' or empty",
}
_SOURCE_OF = {"period": "period_raw"}


def _failed_cast(column: str, cleaned: pl.DataFrame) -> pl.Expr:
    """Rows whose text did not parse: period and value must parse (empty included), the
    quantities may be empty."""
    if column in ("period", "value"):
        return pl.col(column).is_null()
    return pl.col(column).is_null() & cleaned[_SOURCE_OF.get(column, column)].is_not_null()


def _raise_on_failed_casts(
    cleaned: pl.DataFrame, typed: pl.DataFrame, name: str, headers: dict[str, str]
) -> None:
    checked = [c for c in _EXPECTED if c in typed.columns]
    if not any(typed.select(_failed_cast(c, cleaned).any() for c in checked).row(0)):
        return  # the usual case: one pass over the columns instead of a filter per column
    for column in checked:
        expected = _EXPECTED[column]
        source = _SOURCE_OF.get(column, column)
        failed = typed.filter(_failed_cast(column, cleaned))
        if failed.height:
            row = failed.row(0, named=True)["source_row"]
            found = cleaned.filter(pl.col("source_row") == row)[source][0]
            raise ReleaseError(
                name,
                f"{failed.height} value(s) do not parse",
                row=row,
                field=headers.get(source, source),
                expected=expected,
                found=found,
            )
