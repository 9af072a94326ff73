"""Parsing of GACC query exports: both dialects, both encodings, separators and dashes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from customs_etl.errors import ReleaseError
from customs_etl.transform.exports import parse_detailed_export

ENGLISH_HEADER = (
    '"Date of data","Trading partner code","Trading partner","Commodity code","Commodity",'
    '"Quantity","Unit","Supplimentary Quantity","Supplimentary Unit","US dollar",'
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_english_export_parses_separators_dashes_and_quotes(exports_dir: Path) -> None:
    parsed = parse_detailed_export(exports_dir / "en_import_201810_ceuta.csv")
    frame = parsed.frame
    assert (parsed.dialect, parsed.encoding, parsed.currency) == ("gacc_query_en", "utf-8", "USD")
    assert frame["value"].to_list() == [345, 1161, 48377, 1204551, 9020]
    assert frame["period"].unique().to_list() == [dt.date(2018, 10, 1)]
    assert frame["hs_code"][1] == "96151100"
    assert frame["customs_regime_code"].to_list() == ["10", "10", "10", "15", "10"]
    # "12,500" is twelve thousand five hundred; "-" and the em dash are missing units.
    assert frame["quantity"].to_list() == [8000.0, 363.0, 12500.0, 1020.0, None]
    assert frame["supplementary_unit"].to_list() == ["Kilogram", None, None, "Number of item", None]
    assert frame["source_row"].to_list() == [2, 3, 4, 5, 6]
    assert "" not in frame.columns  # the trailing comma's empty column is dropped


def test_chinese_gb18030_export_parses_to_the_same_columns(exports_dir: Path) -> None:
    english = parse_detailed_export(exports_dir / "en_import_201810_ceuta.csv")
    parsed = parse_detailed_export(exports_dir / "zh_export_202506_prk.csv")
    assert (parsed.dialect, parsed.encoding, parsed.currency) == ("gacc_query_zh", "gb18030", "USD")
    assert sorted(parsed.frame.columns) == sorted(english.frame.columns)
    assert parsed.frame["value"].to_list() == [2345678, 312000, 264500]
    assert parsed.frame["partner_code"].unique().to_list() == ["109"]
    assert parsed.frame["registration_place_code"].to_list() == ["21069"] * 3
    assert parsed.frame["quantity"].to_list() == [12345.0, 500000.0, 800000.0]
    assert parsed.frame["supplementary_quantity"].to_list() == [0.0, 0.0, None]
    assert parsed.frame["partner_name_source"][0] == "朝鲜"


def test_utf8_with_bom_and_lf_line_endings(tmp_path: Path) -> None:
    text = (
        "\ufeff"
        + ENGLISH_HEADER
        + '\n"202501","109","Korea,DPR","6704","Wigs","10","Kilogram","0","-","2,000,001",\n'
    )
    parsed = parse_detailed_export(write(tmp_path, "bom.csv", text))
    assert parsed.frame["value"].to_list() == [2_000_001]
    assert parsed.frame["customs_regime_code"].to_list() == [None]  # no regime columns


def test_chinese_rmb_export_is_a_cny_series(tmp_path: Path) -> None:
    header = "数据年月,商品编码,商品名称,贸易伙伴编码,贸易伙伴名称,人民币"
    text = header + "\r\n202401,94,家具,109,朝鲜,1000\r\n"
    parsed = parse_detailed_export(write(tmp_path, "rmb.csv", text, "gb18030"))
    assert parsed.currency == "CNY"
    assert parsed.frame["currency"].to_list() == ["CNY"]


@pytest.mark.parametrize(
    ("body", "field", "found"),
    [
        (
            '"202501","109","Korea,DPR","6704","Wigs","1","Kilogram","0","-","12a4",',
            "US dollar",
            "12a4",
        ),
        (
            '"2025-1","109","Korea,DPR","6704","Wigs","1","Kilogram","0","-","1",',
            "Date of data",
            "2025-1",
        ),
        (
            '"202501","109","Korea,DPR","6704","Wigs","many","Kilogram","0","-","1",',
            "Quantity",
            "many",
        ),
    ],
)
def test_bad_value_names_file_row_and_field(
    tmp_path: Path, body: str, field: str, found: str
) -> None:
    good = '"202501","109","Korea,DPR","6703","Hair","1","Kilogram","0","-","5",'
    path = write(tmp_path, "bad.csv", "\r\n".join([ENGLISH_HEADER, good, body]) + "\r\n")
    with pytest.raises(ReleaseError) as caught:
        parse_detailed_export(path, "export/2025-01/bad.csv")
    error = caught.value
    assert (error.file, error.row, error.field, error.found) == (
        "export/2025-01/bad.csv",
        3,
        field,
        found,
    )
    assert "export/2025-01/bad.csv, row 3" in str(error)


def test_empty_file_and_header_only_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="empty"):
        parse_detailed_export(write(tmp_path, "empty.csv", ""))
    with pytest.raises(ReleaseError, match="no data rows"):
        parse_detailed_export(write(tmp_path, "header.csv", ENGLISH_HEADER + "\r\n"))


def test_html_page_saved_as_csv_is_not_a_query_export(tmp_path: Path) -> None:
    html = "<html><head><title>412</title></head><body>Please enable JavaScript</body></html>\n"
    with pytest.raises(ReleaseError, match=r"not a CSV export: an? .*(page|challenge)"):
        parse_detailed_export(write(tmp_path, "challenge.csv", html))


def test_gzip_export_reads_like_the_plain_one(exports_dir: Path, tmp_path: Path) -> None:
    import gzip

    plain = exports_dir / "zh_export_202506_prk.csv"
    packed = tmp_path / "zh_export_202506_prk.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert parse_detailed_export(packed).frame.equals(parse_detailed_export(plain).frame)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed.read_bytes()[:40])
    with pytest.raises(ReleaseError, match="gzip file is damaged"):
        parse_detailed_export(cut)


def test_a_stray_byte_far_into_a_utf8_file_is_still_an_encoding_error(tmp_path: Path) -> None:
    # Valid UTF-8 is read without decoding it in Python: Polars must still see every byte.
    good = '"202501","109","Korea,DPR","6703","Hair—wigs","1","Kilogram","0","-","5",'
    rows = [ENGLISH_HEADER, *[good] * 5000]
    body = "\r\n".join(rows).encode("utf-8")
    path = tmp_path / "stray.csv"
    path.write_bytes(body + b'\r\n"202501","109","Korea,DPR","6703","Hair\xff","1",,,,"5",\r\n')
    with pytest.raises(ReleaseError, match="neither UTF-8 nor GB18030"):
        parse_detailed_export(path)
    path.write_bytes(b"\xef\xbb\xbf" + body + b'\r\n"202501","109","\xc3",,,,,,,"5",\r\n')
    with pytest.raises(ReleaseError, match="declares UTF-8"):
        parse_detailed_export(path)


def test_gb18030_rows_under_an_ascii_header_are_read_as_gb18030(tmp_path: Path) -> None:
    row = '"202501","109","朝鲜","6704","假发","1","千克","0","-","5",'
    parsed = parse_detailed_export(
        write(tmp_path, "zh.csv", f"{ENGLISH_HEADER}\r\n{row}\r\n", "gb18030")
    )
    assert parsed.encoding == "gb18030"
    assert parsed.frame["partner_name_source"].to_list() == ["朝鲜"]
    assert parsed.frame["quantity_unit"].to_list() == ["千克"]


def test_numbers_with_blanks_around_them_parse_as_without(tmp_path: Path) -> None:
    # Numbers are cast unstripped first; a padded one must still come out as the plain one.
    padded = '" 202501 ","109","Korea,DPR","6704","Wigs"," 10 ","Kilogram"," - ","-"," 2,000 ",'
    plain = '"202501","109","Korea,DPR","6704","Wigs","10","Kilogram","-","-","2,000",'
    frames = [
        parse_detailed_export(write(tmp_path, f"{n}.csv", f"{ENGLISH_HEADER}\r\n{row}\r\n")).frame
        for n, row in (("padded", padded), ("plain", plain))
    ]
    assert frames[0].equals(frames[1])
    assert frames[0]["value"].to_list() == [2000]
    assert frames[0]["supplementary_quantity"].to_list() == [None]
