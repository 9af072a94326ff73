"""Read the query platform's XLSX export as a frame of text cells, like its CSV export.

Every cell is read as text (a number may be a numeric cell or text with thousands separators),
so the workbook goes through the same typing and error path as the CSV. The first sheet holds
the export, its header on the first row.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import fastexcel
import polars as pl

from customs_etl.errors import ReleaseError, ReleaseTooLargeError
from customs_etl.extract.html import detect_challenge_or_error

ZIP_MAGIC = b"PK\x03\x04"
_EXPECTED = "an .xlsx workbook exported by the GACC query platform"
_FIRST_DATA_ROW = 2  # sheet row 1 is the header
_CHUNK = 1 << 20


def read_xlsx_text(data: bytes, name: str, max_bytes: int | None = None) -> pl.DataFrame:
    """The first sheet as text columns plus `source_row` (the sheet's row number)."""
    _check_workbook(data, name, max_bytes)
    try:
        frame = pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            sheet_id=1,
            read_options={"dtypes": "string"},
            # Blank rows are kept until rows are numbered, so errors name the sheet's own row.
            drop_empty_rows=False,
        )
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as error:
        cause = str(error).splitlines()[0]
        raise ReleaseError(
            name, f"the workbook cannot be read ({cause})", expected=_EXPECTED
        ) from error
    numbered = frame.with_row_index("source_row", offset=_FIRST_DATA_ROW)
    cells = [c for c in numbered.columns if c != "source_row"]
    return numbered.filter(~pl.all_horizontal(pl.col(cells).is_null())) if cells else numbered


def _check_workbook(data: bytes, name: str, max_bytes: int | None) -> None:
    """A sound zip with the workbook part, not too large unpacked, before calamine reads it."""
    if not data:
        raise ReleaseError(name, "the file is empty", expected=_EXPECTED)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ReleaseError(
            name, f"this is not an XLSX workbook: {_why_not_zip(data, error)}", expected=_EXPECTED
        ) from error
    with archive:
        if not any(entry.startswith("xl/") for entry in archive.namelist()):
            raise ReleaseError(
                name,
                "this is a zip archive but not an XLSX workbook (no xl/ part)",
                expected=_EXPECTED,
            )
        _check_unpacked_size(archive, name, max_bytes)


def _why_not_zip(data: bytes, error: Exception) -> str:
    if data.startswith(ZIP_MAGIC):
        return f"the zip archive is cut off or damaged ({error})"
    # A page saved under the workbook's name (the firewall's challenge) is said to be one.
    return detect_challenge_or_error(data[:65536], None) or "it is not a zip archive"


def _check_unpacked_size(archive: zipfile.ZipFile, name: str, max_bytes: int | None) -> None:
    """Unpack every part in chunks, counting: a zip bomb stops at the cap, never held in memory.

    The sizes the archive declares could lie, so the bytes are counted as they come. Reading
    them also checks each part's CRC, so a damaged workbook is refused here, by name, rather
    than by calamine's generic error.
    """
    total = 0
    try:
        for entry in archive.infolist():
            with archive.open(entry) as part:
                while chunk := part.read(_CHUNK):
                    total += len(chunk)
                    if max_bytes is not None and total > max_bytes:
                        raise ReleaseTooLargeError(
                            name,
                            f"the workbook unpacks to more than the limit of {max_bytes:,} bytes "
                            f"(reading stopped after {total:,} bytes)",
                            limit=max_bytes,
                        )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
        raise ReleaseError(
            name, f"the workbook is damaged ({error})", expected=_EXPECTED
        ) from error
