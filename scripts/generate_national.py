"""Generate national-scale detailed exports for benchmarks: CONSTRUCTED data, not GACC's.

Writes N months of China's exports and imports at 8-digit commodity level, split by partner and
customs regime, in the English CSV format of GACC's online query platform (UTF-8, every field
quoted, a trailing comma, thousands separators, CRLF, "Customs Regime code"/"Customs Regime"
columns):

    <out>/<export|import>/<YYYY-MM>/part-NNN.csv

The codes come from the seeds (the 8,557 eight-digit commodities, every partner, the 20
regimes). The shape is skewed the way customs data is: a Zipf-like handful of partners and a
few chapters (85, 84, 27, 26, ...) carry most of the value, big partners trade many more
distinct goods than small ones, and most partner x regime x commodity combinations are empty.
Each flow has a fixed universe of non-empty cells; every month keeps about 3/4 of them (the
large ones nearly always), so the same lines recur month after month, as in real releases.

Files are cut the way a person downloads them under the platform's 10,000-row cap: one query
for several small partners (all regimes), one per large partner, and for a partner above the
cap one per group of regimes, then per group of chapters. Values are exact whole US dollars.

Everything is vectorised (numpy + Polars; Python loops run over partners, groups of rows and
files, never over rows): one month at national scale, 500,000 rows per flow (1M rows, 125
files, 164 MB), is written in about 4 s on two shared cores, each further 1M rows in about 2 s.
The output is byte-identical for the same parameters: every random stream is seeded from
(seed, flow[, month]). `--rows-per-month` counts the rows of one flow.

    .venv/bin/python scripts/generate_national.py --out /tmp/national --months 13 \\
        --rows-per-month 500000 [--start 2024-07] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gacc_csv  # scripts/, beside this file (on sys.path when run or imported from here)
import numpy as np
import polars as pl

PROJECT_DIR = Path(__file__).resolve().parents[1]
FLOWS = ("export", "import")
MAX_ROWS_PER_FILE = 10_000  # the platform's download cap
UNIVERSE_FACTOR = 1.35  # non-empty cells per flow / rows per month
# China's monthly trade, order of magnitude (USD): the month's values add up to about this.
MONTHLY_TOTAL_USD = {"export": 300_000_000_000, "import": 210_000_000_000}
SEASON = (0.92, 0.72, 0.98, 1.0, 1.02, 1.03, 1.05, 1.06, 1.04, 1.02, 1.05, 1.09)
# The partners that carry most of the value, largest first (ISO 3166 alpha-3); every other
# partner of the seed follows in a seeded random order. Value weight ~ 1 / rank^1.1.
LEAD_PARTNERS = {
    "export": "USA HKG JPN KOR VNM IND NLD DEU RUS MYS GBR MEX THA SGP IDN AUS PHL BRA ARE "
    "CAN TWN FRA ITA POL SAU TUR ESP BGD PAK KAZ",
    "import": "TWN KOR USA JPN AUS RUS BRA DEU MYS VNM SAU IDN THA CHL IRQ ARE SGP FRA CHE "
    "PER NZL CAN ZAF OMN AGO KAZ MNG ITA PHL IND",
}
PARTNER_ZIPF = 1.1
# Value share of the leading HS chapters; the other chapters share the rest evenly.
CHAPTER_SHARES = {
    "export": {
        "85": 0.25, "84": 0.16, "87": 0.045, "94": 0.035, "39": 0.04, "73": 0.03, "90": 0.03,
        "72": 0.03, "61": 0.025, "62": 0.02, "95": 0.025, "29": 0.025, "64": 0.015, "42": 0.012,
        "63": 0.012, "76": 0.012, "40": 0.012, "38": 0.012, "60": 0.012, "28": 0.01, "83": 0.01,
        "89": 0.01, "70": 0.008, "69": 0.008, "54": 0.008, "82": 0.008, "48": 0.008,
    },
    "import": {
        "85": 0.25, "27": 0.16, "26": 0.09, "84": 0.07, "90": 0.04, "39": 0.035, "29": 0.035,
        "74": 0.03, "12": 0.03, "87": 0.025, "71": 0.025, "30": 0.015, "38": 0.015, "88": 0.015,
        "44": 0.012, "02": 0.012, "47": 0.01, "03": 0.01, "28": 0.01, "10": 0.01, "33": 0.01,
        "72": 0.01, "76": 0.008, "40": 0.008,
    },
}  # fmt: skip
# Value share of each customs regime (all 20 of the seed appear; the list must cover them).
REGIME_SHARES = {
    "export": {
        "10": 0.62, "15": 0.17, "14": 0.04, "34": 0.07, "33": 0.035, "39": 0.025, "19": 0.012,
        "22": 0.008, "16": 0.003, "12": 0.001, "11": 0.0008, "13": 0.0002, "20": 0.0002,
        "23": 0.002, "25": 0.0002, "27": 0.001, "30": 0.0002, "31": 0.0003, "35": 0.0002,
        "41": 0.001,
    },
    "import": {
        "10": 0.58, "15": 0.16, "14": 0.05, "34": 0.09, "33": 0.05, "39": 0.02, "19": 0.008,
        "22": 0.0002, "16": 0.002, "12": 0.002, "11": 0.001, "13": 0.0002, "20": 0.006,
        "23": 0.003, "25": 0.006, "27": 0.002, "30": 0.0002, "31": 0.0005, "35": 0.005,
        "41": 0.004,
    },
}  # fmt: skip
# First unit of a commodity (weight), and whether a second unit (kilograms) is reported.
UNITS = (
    ("Kilogram", 0.70, False),
    ("Number of item", 0.12, True),
    ("Set", 0.04, True),
    ("Pair", 0.02, True),
    ("Meter", 0.03, True),
    ("Square meter", 0.03, True),
    ("Liter", 0.02, True),
    ("Unit", 0.04, True),
)
PRESENCE_EXPONENT = 0.5  # how much value weight drives whether a cell exists at all
ROWS_EXPONENT = 0.6  # rows per partner ~ value weight ^ this (big partners, more lines)


@dataclass(frozen=True)
class Seeds:
    partners: pl.DataFrame  # partner_code, partner_iso3, partner_name_en
    regimes: pl.DataFrame  # customs_regime_code, customs_regime_name_en
    commodities: pl.DataFrame  # hs_code (8 digits), description_en


def read_seeds(seeds_dir: Path) -> Seeds:
    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(seeds_dir / f"{name}.csv", infer_schema=False)

    commodities = (
        read("commodities")
        .filter(pl.col("hs_level") == "8")
        .select("hs_code", pl.col("description_en").fill_null(""))
        .sort("hs_code")
    )
    partners = read("partners").select("partner_code", "partner_iso3", "partner_name_en")
    regimes = read("customs_regimes").select("customs_regime_code", "customs_regime_name_en")
    return Seeds(partners.sort("partner_code"), regimes.sort("customs_regime_code"), commodities)


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """One independent, reproducible stream per (seed, key...)."""
    digest = hashlib.sha256(repr((seed, *key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def months_from(start: str, count: int) -> list[str]:
    year, month = map(int, start.split("-"))
    out = []
    for i in range(count):
        y, m = divmod(month - 1 + i, 12)
        out.append(f"{year + y:04d}-{m + 1:02d}")
    return out


def gumbel_top_k(rng: np.random.Generator, log_weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn without replacement with probability ~ weight (sorted)."""
    if k >= log_weights.size:
        return np.arange(log_weights.size)
    keys = log_weights + rng.gumbel(size=log_weights.size)
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def distinct_cells(
    rng: np.random.Generator, per_partner: np.ndarray, wr: np.ndarray, wh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """per_partner[p] distinct (regime, commodity) cells for each partner p, drawn with
    probability ~ wr[regime] * wh[commodity] without replacement.

    Draws with replacement for all partners at once and keeps each cell's first draw, which is
    sequential sampling without replacement; a few rounds top up the partners still short."""
    n_regimes, n_codes = wr.size, wh.size
    cells_per_partner = n_regimes * n_codes
    pr, ph = wr / wr.sum(), wh / wh.sum()
    kept = np.empty(0, dtype=np.int64)  # partner * cells_per_partner + regime * n_codes + hs
    need = per_partner.astype(np.int64).copy()
    while need.sum() > 0:
        draws = np.ceil(need * 1.3).astype(np.int64) + 8 * (need > 0)
        partner = np.repeat(np.arange(per_partner.size, dtype=np.int64), draws)
        regime = rng.choice(n_regimes, size=partner.size, p=pr)
        code = rng.choice(n_codes, size=partner.size, p=ph)
        drawn = np.concatenate([kept, partner * cells_per_partner + regime * n_codes + code])
        _, first = np.unique(drawn, return_index=True)
        ordered = drawn[np.sort(first)]  # distinct keys in the order first drawn
        owner = ordered // cells_per_partner
        # rank of each key within its partner, in draw order
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(per_partner.size))
        rank = np.empty(ordered.size, dtype=np.int64)
        rank[order] = np.arange(ordered.size) - np.repeat(
            starts, np.bincount(owner, minlength=per_partner.size)
        )
        kept = ordered[rank < per_partner[owner]]
        need = per_partner - np.bincount(kept // cells_per_partner, minlength=per_partner.size)
    kept = np.sort(kept)
    return (kept // cells_per_partner).astype(np.int32), kept % cells_per_partner


# --- the universe of non-empty cells per flow -----------------------------------------------


@dataclass(frozen=True)
class Universe:
    partner_idx: np.ndarray  # into seeds.partners
    regime_idx: np.ndarray  # into seeds.regimes
    hs_idx: np.ndarray  # into seeds.commodities
    base_value: np.ndarray  # relative value weight of the cell


def partner_weights(seeds: Seeds, flow: str, seed: int) -> np.ndarray:
    iso = seeds.partners["partner_iso3"].to_list()
    lead = [iso.index(code) for code in LEAD_PARTNERS[flow].split() if code in iso]
    rest = [i for i in range(len(iso)) if i not in set(lead)]
    order = lead + list(rng_for(seed, flow, "partner-order").permutation(rest))
    weights = np.empty(len(iso))
    weights[order] = 1.0 / np.arange(1, len(iso) + 1) ** PARTNER_ZIPF
    return weights / weights.sum()


def regime_weights(seeds: Seeds, flow: str) -> np.ndarray:
    shares = REGIME_SHARES[flow]
    weights = np.array([shares.get(c, 0.0001) for c in seeds.regimes["customs_regime_code"]])
    return weights / weights.sum()


def commodity_weights(seeds: Seeds, flow: str, seed: int) -> np.ndarray:
    chapters = seeds.commodities["hs_code"].str.slice(0, 2).to_numpy()
    shares = CHAPTER_SHARES[flow]
    others = sorted(set(chapters) - set(shares))
    rest = max(0.0, 1.0 - sum(shares.values())) / max(1, len(others))
    names, codes_per_chapter = np.unique(chapters, return_counts=True)
    per_code = {
        name: shares.get(name, rest) / count
        for name, count in zip(names, codes_per_chapter, strict=True)
    }
    base = np.array([per_code[c] for c in chapters])
    noise = rng_for(seed, flow, "commodity-weights").lognormal(0.0, 1.3, size=base.size)
    weights = base * noise
    return weights / weights.sum()


def build_universe(seeds: Seeds, flow: str, cells: int, seed: int) -> Universe:
    """`cells` distinct (partner, regime, commodity) cells, skewed towards the big ones."""
    wp = partner_weights(seeds, flow, seed)
    wr = regime_weights(seeds, flow)
    wh = commodity_weights(seeds, flow, seed)
    n_regimes, n_codes = wr.size, wh.size
    # Cells per partner: proportional to weight^ROWS_EXPONENT, at least one, at most 60% of a
    # partner's possible cells.
    share = wp**ROWS_EXPONENT
    per_partner = np.minimum(
        np.maximum(1, np.floor(cells * share / share.sum())), 0.6 * n_regimes * n_codes
    ).astype(np.int64)
    rng = rng_for(seed, flow, "universe")
    p_idx, flat = distinct_cells(rng, per_partner, wr**PRESENCE_EXPONENT, wh**PRESENCE_EXPONENT)
    r_idx = (flat // n_codes).astype(np.int32)
    h_idx = (flat % n_codes).astype(np.int32)
    # A partner's cells share its value weight: big partners have more lines, not only
    # bigger ones, and the partner ranking keeps the shares of partner_weights.
    within = wr[r_idx] * wh[h_idx] * rng.lognormal(0.0, 1.0, size=flat.size)
    per_partner_sum = np.bincount(p_idx, weights=within, minlength=wp.size)
    base_value = wp[p_idx] * within / per_partner_sum[p_idx]
    return Universe(p_idx, r_idx, h_idx, base_value)


# --- one month ------------------------------------------------------------------------------


def month_rows(
    seeds: Seeds, universe: Universe, flow: str, period: str, rows: int, seed: int
) -> pl.DataFrame:
    """About `rows` rows of one month: a value-weighted subset of the universe's cells."""
    rng = rng_for(seed, flow, period)
    keep = gumbel_top_k(rng, 0.35 * np.log(universe.base_value), min(rows, universe.hs_idx.size))
    month = int(period[5:])
    base = universe.base_value[keep] * rng.lognormal(0.0, 0.35, size=keep.size)
    total = MONTHLY_TOTAL_USD[flow] * SEASON[month - 1]
    value = np.maximum(1, np.rint(base * (total / base.sum()))).astype(np.int64)
    hs_idx = universe.hs_idx[keep]
    # Units and prices are properties of the commodity: one stream for every flow and month.
    unit_rng = rng_for(seed, "units")
    n_codes = seeds.commodities.height
    unit_of_code = unit_rng.choice(len(UNITS), size=n_codes, p=[u[1] for u in UNITS])
    price_of_code = unit_rng.lognormal(1.5, 1.6, size=n_codes)  # USD per first unit
    kg_per_unit = unit_rng.lognormal(0.0, 1.5, size=n_codes)
    unit = unit_of_code[hs_idx]
    quantity = np.rint(
        value / (price_of_code[hs_idx] * rng.lognormal(0.0, 0.15, size=keep.size))
    ).astype(np.int64)
    has_second = np.array([u[2] for u in UNITS])[unit]
    second = np.where(has_second, np.rint(quantity * kg_per_unit[hs_idx]), 0).astype(np.int64)
    return pl.DataFrame(
        {
            "partner_idx": universe.partner_idx[keep],
            "regime_idx": universe.regime_idx[keep],
            "hs_idx": hs_idx,
            "unit_idx": unit.astype(np.int32),
            "quantity": quantity,
            "second_quantity": second,
            "has_second": has_second,
            "value": value,
        }
    ).sort("partner_idx", "regime_idx", "hs_idx")


def assign_files(frame: pl.DataFrame, cap: int = MAX_ROWS_PER_FILE) -> pl.DataFrame:
    """File number per row, as a person splits downloads under the cap (rows sorted by
    partner, regime, commodity): small partners share a query (all regimes); a partner over
    the cap gets one query per group of regimes; a regime over the cap, per group of chapters.
    The loop runs over these groups (a few thousand), never over rows."""
    sizes_p = frame.group_by("partner_idx", maintain_order=True).len()
    sizes_pr = frame.group_by("partner_idx", "regime_idx", maintain_order=True).len()
    # units: (partner, regime or -1, chapter or -1) with their row counts, in row order, and
    # the scope within which consecutive units may share a file.
    units: list[tuple[int, int, int, int, tuple]] = []
    by_partner_regime: dict[int, list[tuple[int, int]]] = {}
    for p, r, n in sizes_pr.iter_rows():
        by_partner_regime.setdefault(p, []).append((r, n))
    chapter_sizes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    big_regimes = {
        (p, r) for p, regimes in by_partner_regime.items() for r, n in regimes if n > cap
    }
    # A chapter above the cap (only with a small cap: the largest has ~1,000 codes) is cut
    # into consecutive chunks; `piece` numbers them (0 for every other row).
    frame = frame.with_columns(
        piece=(
            pl.int_range(pl.len()).over("partner_idx", "regime_idx", "chapter_code") // cap
        ).cast(pl.Int32)
    )
    if big_regimes:
        sizes_prc = frame.group_by(
            "partner_idx", "regime_idx", "chapter_code", "piece", maintain_order=True
        ).len()
        for p, r, c, k, n in sizes_prc.iter_rows():
            if (p, r) in big_regimes:
                chapter_sizes.setdefault((p, r), []).append((c * 1_000_000 + k, n))
    for p, n in sizes_p.iter_rows():
        if n <= cap:
            units.append((p, -1, -1, n, ("partners",)))
            continue
        for r, nr in by_partner_regime[p]:
            if nr <= cap:
                units.append((p, r, -1, nr, ("regimes", p)))
                continue
            for c, nc in chapter_sizes[(p, r)]:
                units.append((p, r, c, nc, ("chapters", p, r)))
    # Greedy packing of consecutive units of one scope.
    file_of_unit, file_no, used, scope = [], -1, cap + 1, None
    for _, _, _, n, unit_scope in units:
        if unit_scope != scope or used + n > cap:
            file_no, used, scope = file_no + 1, 0, unit_scope
        used += n
        file_of_unit.append(file_no)
    unit_table = pl.DataFrame(
        {
            "partner_idx": [u[0] for u in units],
            "regime_key": [u[1] for u in units],
            "chapter_key": [u[2] for u in units],
            "file_no": file_of_unit,
        },
        schema={
            "partner_idx": pl.Int32,
            "regime_key": pl.Int32,
            "chapter_key": pl.Int32,
            "file_no": pl.Int32,
        },
    )
    whole_partner = unit_table.filter(pl.col("regime_key") == -1).select("partner_idx", "file_no")
    by_regime = unit_table.filter((pl.col("regime_key") >= 0) & (pl.col("chapter_key") == -1))
    by_chapter = unit_table.filter(pl.col("chapter_key") >= 0)
    out = (
        frame.with_columns(chapter_piece=pl.col("chapter_code") * 1_000_000 + pl.col("piece"))
        .join(whole_partner, on="partner_idx", how="left", maintain_order="left")
        .join(
            by_regime.select("partner_idx", regime_idx="regime_key", f2="file_no"),
            on=["partner_idx", "regime_idx"],
            how="left",
            maintain_order="left",
        )
        .join(
            by_chapter.select(
                "partner_idx", regime_idx="regime_key", chapter_piece="chapter_key", f3="file_no"
            ),
            on=["partner_idx", "regime_idx", "chapter_piece"],
            how="left",
            maintain_order="left",
        )
        .with_columns(file_no=pl.coalesce("file_no", "f2", "f3"))
        .drop("f2", "f3", "piece", "chapter_piece")
    )
    assert out["file_no"].null_count() == 0
    return out


def thousands(expr: pl.Expr) -> pl.Expr:
    """1234567 -> '1,234,567' (whole, non-negative numbers), vectorised."""
    return (
        expr.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.strip_suffix(",")
        .str.reverse()
    )


def quote_expr(column: str) -> pl.Expr:
    return '"' + pl.col(column).str.replace_all('"', '""', literal=True) + '"'


def render_lines(frame: pl.DataFrame, seeds: Seeds, period: str) -> pl.DataFrame:
    """One CSV line per row (every field quoted, trailing comma, CRLF)."""
    partners = seeds.partners.select(
        p_code=quote_expr("partner_code"), p_name=quote_expr("partner_name_en")
    )
    regimes = seeds.regimes.select(
        r_code=quote_expr("customs_regime_code"), r_name=quote_expr("customs_regime_name_en")
    )
    codes = seeds.commodities.select(
        h_code=quote_expr("hs_code"), h_name=quote_expr("description_en")
    )
    units = pl.Series("u_name", [gacc_csv.quoted(u[0]) for u in UNITS])
    date = gacc_csv.quoted(period.replace("-", ""))
    line = pl.concat_str(
        [
            pl.lit(date),
            pl.col("p_code"),
            pl.col("p_name"),
            pl.col("h_code"),
            pl.col("h_name"),
            pl.col("r_code"),
            pl.col("r_name"),
            '"' + thousands(pl.col("quantity")) + '"',
            pl.col("u_name"),
            '"' + thousands(pl.col("second_quantity")) + '"',
            pl.when(pl.col("has_second")).then(pl.lit('"Kilogram"')).otherwise(pl.lit('"-"')),
            '"' + thousands(pl.col("value")) + '"',
        ],
        separator=",",
    )
    return frame.with_columns(
        p_code=partners["p_code"].gather(frame["partner_idx"]),
        p_name=partners["p_name"].gather(frame["partner_idx"]),
        r_code=regimes["r_code"].gather(frame["regime_idx"]),
        r_name=regimes["r_name"].gather(frame["regime_idx"]),
        h_code=codes["h_code"].gather(frame["hs_idx"]),
        h_name=codes["h_name"].gather(frame["hs_idx"]),
        u_name=units.gather(frame["unit_idx"]),
    ).select("file_no", (line + pl.lit(gacc_csv.LINE_END)).alias("line"))


HEADER_LINE = gacc_csv.english_line(gacc_csv.EN_HEADER)


def write_month(lines: pl.DataFrame, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("part-*.csv"):
        stale.unlink()
    files = lines.group_by("file_no", maintain_order=True).agg(pl.col("line").str.join(""))
    written = []
    for file_no, text in files.iter_rows():
        path = folder / f"part-{file_no + 1:03d}.csv"
        path.write_bytes((HEADER_LINE + text).encode("utf-8"))
        written.append(path)
    return written


@dataclass(frozen=True)
class MonthWritten:
    flow: str
    period: str
    rows: int
    files: int
    value_total: int
    bytes: int


def generate(
    out: Path,
    *,
    months: int,
    rows_per_month: int,
    start: str = "2024-07",
    seed: int = 1,
    seeds_dir: Path = PROJECT_DIR / "seeds",
    flows: Sequence[str] = FLOWS,
    max_rows_per_file: int = MAX_ROWS_PER_FILE,
) -> list[MonthWritten]:
    seeds = read_seeds(seeds_dir)
    chapter_of_code = seeds.commodities["hs_code"].str.slice(0, 2).cast(pl.Int32)
    written = []
    for flow in flows:
        universe = build_universe(seeds, flow, int(rows_per_month * UNIVERSE_FACTOR), seed)
        for period in months_from(start, months):
            frame = month_rows(seeds, universe, flow, period, rows_per_month, seed)
            frame = frame.with_columns(chapter_code=chapter_of_code.gather(frame["hs_idx"]))
            frame = assign_files(frame, max_rows_per_file)
            paths = write_month(render_lines(frame, seeds, period), out / flow / period)
            written.append(
                MonthWritten(
                    flow,
                    period,
                    frame.height,
                    len(paths),
                    int(frame["value"].sum()),
                    sum(p.stat().st_size for p in paths),
                )
            )
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--rows-per-month", type=int, default=500_000, help="per flow")
    parser.add_argument("--start", default="2024-07", help="first month, YYYY-MM")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds-dir", type=Path, default=PROJECT_DIR / "seeds")
    parser.add_argument("--flows", nargs="+", choices=FLOWS, default=list(FLOWS))
    parser.add_argument(
        "--max-rows-per-file",
        type=int,
        default=MAX_ROWS_PER_FILE,
        help="cut files at this many rows (default: the platform's download cap)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = generate(
        args.out,
        months=args.months,
        rows_per_month=args.rows_per_month,
        start=args.start,
        seed=args.seed,
        seeds_dir=args.seeds_dir,
        flows=args.flows,
        max_rows_per_file=args.max_rows_per_file,
    )
    seconds = time.perf_counter() - started
    rows = sum(m.rows for m in written)
    files = sum(m.files for m in written)
    size = sum(m.bytes for m in written)
    print(
        f"Wrote {rows:,} rows in {files:,} files ({size / 1e6:,.0f} MB) under {args.out} "
        f"in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
