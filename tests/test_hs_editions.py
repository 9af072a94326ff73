"""HS editions on real-format exports either side of the January 2022 break, with real DuckDB
files: descriptions for HS 2022-only codes from the exports' own Commodity column, and the
6-digit series on HS 2017 with UNSD's relationship."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from support import FIXTURES, SEEDS_DIR, SQL_DIR

from customs_etl.extract.landing_zone import LandingZone
from customs_etl.extract.releases import describe_release
from customs_etl.load import connection, loader, models, registry
from customs_etl.transform import parse

EXPORTS = FIXTURES / "exports"
FILES = {
    "export/2021-12": ["en_export_202112_prk_hs2017.csv"],
    "export/2022-01": ["en_export_202201_prk_hs2022.csv", "zh_export_202201_prk_hs2022_r19.csv"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("editions")
    landing = work / "landing"
    paths = []
    for folder, names in FILES.items():
        for name in names:
            target = landing / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(EXPORTS / name, target)
            paths.append(target)
    db = work / "w.duckdb"
    zone = LandingZone(work / "zone")
    con = connection.connect(db)
    models.prepare_schema(con, SQL_DIR)
    parsed = [
        parse.parse_release(
            zone.receive(describe_release(p, landing_dir=landing)), work / "staging", SEEDS_DIR
        )
        for p in paths
    ]
    loader.load_releases(con, [(p.path, registry.loaded_record(p)) for p in parsed])
    models.build_models(con, SQL_DIR, SEEDS_DIR)
    con.close()
    return db


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_the_seed_lists_the_editions_china_followed() -> None:
    lines = (SEEDS_DIR / "hs_editions.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["HS2012", "2012-01", "2016-12"],
        ["HS2017", "2017-01", "2021-12"],
        ["HS2022", "2022-01", ""],
    ]


def test_hs_2022_only_codes_take_the_exports_own_names(built: Path) -> None:
    # Not in GACC's CODE_TS.xls list (HS 2017-based).
    assert query(
        built,
        "select count(*) from staging.stg_commodities where hs_code in ('85241100', '85171300')",
    ) == [(0,)]
    rows = query(
        built,
        "select hs_code, hs_description, hs_description_zh, description_source "
        "from marts.commodities where hs_code in ('85241100', '85171300', '67030000') "
        "order by hs_code",
    )
    assert rows == [
        (
            "67030000",
            "Human hair, dressed, etc; animal hair & synthetic materials for wigs",
            "经加工的人发；作假发及类似品用的羊毛等",  # the list wins over the export
            "gacc_code_ts",
        ),
        ("85171300", "Smartphones", None, "export_commodity_column"),
        (
            "85241100",
            "Flat panel display modules, without drivers or control circuits, of liquid crystals",
            "不含驱动器或控制电路的液晶平板显示模组",
            "export_commodity_column",
        ),
    ]
    # ... and the commodity marts show it.
    assert query(
        built,
        "select hs_description from marts.trade_by_commodity_monthly "
        "where hs_code = '85241100' and hs_level = 8",
    ) == [("Flat panel display modules, without drivers or control circuits, of liquid crystals",)]
    # Names are kept for the codes the lists lack only: the listed 67030000 left none.
    kept = {code for (code,) in query(built, "select distinct hs_code from core.commodity_names")}
    assert {"85241100", "85171300"} <= kept
    assert query(
        built,
        "select count(*) from core.commodity_names join staging.stg_commodities "
        "using (hs_code, hs_level)",
    ) == [(0,)]


def test_a_six_digit_series_on_hs_2017_across_the_break(built: Path) -> None:
    rows = query(
        built,
        "select period, hs_edition, hs_code, hs2017_code, relationship, is_exact, value_usd "
        "from marts.trade_by_hs6_on_hs2017_monthly where partner_iso3 = 'PRK' "
        "and hs2017_code in ('851712', '670300') order by hs2017_code, period, hs_code",
    )
    december, january = dt.date(2021, 12, 1), dt.date(2022, 1, 1)
    assert rows == [
        (december, "HS2017", "670300", "670300", None, True, 500_000),
        (january, "HS2022", "670300", "670300", "1:1", True, 600_000),
        (december, "HS2017", "851712", "851712", None, True, 1_000_000),
        # Smartphones and other mobile phones were split out of 851712: exactly inside it.
        (january, "HS2022", "851713", "851712", "n:1", True, 700_000),
        (january, "HS2022", "851714", "851712", "n:1", True, 200_000),
        # Flat panel modules (new in HS 2022) were spread over many HS 2017 codes: UNSD's
        # conversion puts them under 851712, by assumption. English and Chinese files add up.
        (january, "HS2022", "852411", "851712", "n:n", False, 50_000 + 12_000),
    ]
    series = query(
        built,
        "select period, sum(value_usd), sum(value_usd) filter (where is_exact) "
        "from marts.trade_by_hs6_on_hs2017_monthly where hs2017_code = '851712' "
        "group by period order by period",
    )
    assert series == [(december, 1_000_000, 1_000_000), (january, 962_000, 900_000)]


def test_end_use_by_the_bec_table_of_each_edition(built: Path) -> None:
    rows = query(
        built,
        "select year, half, end_use, bec4_code, allocation, value_usd "
        "from marts.trade_by_end_use_half_year where partner_iso3 = 'PRK' and flow = 'export' "
        "order by year, half, value_usd desc",
    )
    assert rows == [
        # HS 2017 table: mobile phones 851712 are capital goods (41), processed hair 670300
        # processed industrial supplies (22).
        (2021, "H2", "capital", "41", "one_category", 1_000_000),
        (2021, "H2", "intermediate", "22", "one_category", 500_000),
        # HS 2022 table: 851713 and 851714 are 41; flat panel modules 852411 have eleven
        # categories in UNSD's table and are not split.
        (2022, "H1", "capital", "41", "one_category", 900_000),
        (2022, "H1", "intermediate", "22", "one_category", 600_000),
        (2022, "H1", None, None, "several_categories", 62_000),
    ]
    # The rows add up to the half-year mart.
    assert query(
        built,
        "select h.year, h.value_usd, sum(e.value_usd) from marts.trade_half_year h "
        "join marts.trade_by_end_use_half_year e using (year, half, partner_iso3, flow) "
        "where h.flow = 'export' group by all order by 1",
    ) == [(2021, 1_500_000, 1_500_000), (2022, 1_562_000, 1_562_000)]
