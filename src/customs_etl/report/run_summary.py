"""What a run changed, in Markdown and as a table: the China-DPRK half-years, the releases the
run loaded, the figures they revised and the files it rejected. Read back from the published
warehouse, so it shows what readers of the warehouse see, not what the run believes it wrote.
flows/artifacts.py hands these to Prefect as the run's artifacts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from customs_etl import markdown as md
from customs_etl.report.formatting import percent, signed_whole, whole

if TYPE_CHECKING:
    from customs_etl.job import RunSummary

PARTNER = "PRK"  # the story the warehouse was built for: China's trade with North Korea


@dataclass(frozen=True)
class LoadedRelease:
    release_id: str
    source_name: str
    period: dt.date | None
    flow: str | None
    currency: str | None
    row_count: int | None
    value_total: int | None


@dataclass(frozen=True)
class Revision:
    release: LoadedRelease
    earlier_id: str
    earlier_value: int | None


@dataclass(frozen=True)
class RunChanges:
    """What the published warehouse says about a run: the partner's half-years (year, half,
    exports, imports, total, total's change on a year earlier, months), the releases the run
    loaded and which of them revise an earlier file."""

    halves: list[tuple]
    loaded: list[LoadedRelease]
    revisions: list[Revision]


def read_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunChanges:
    loaded, revisions = _this_run(con, run_id)
    return RunChanges(_half_years(con), loaded, revisions)


def _half_years(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """
        select
            year,
            half,
            any_value(value_usd) filter (where flow = 'export'),
            any_value(value_usd) filter (where flow = 'import'),
            any_value(value_usd) filter (where flow = 'total'),
            any_value(yoy_pct) filter (where flow = 'total'),
            any_value(months_covered) filter (where flow = 'total')
        from marts.trade_half_year
        where partner_iso3 = ?
        group by year, half
        order by year, half
        """,
        [PARTNER],
    ).fetchall()


def _this_run(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[list[LoadedRelease], list[Revision]]:
    """Releases loaded between the run's start and end, and which of them revise a file."""
    window = con.execute(
        "select started_at, finished_at from meta.runs where run_id = ?", [run_id]
    ).fetchone()
    if window is None:
        return [], []
    rows = con.execute(
        """
        with loaded as (
            select * from meta.releases
            where status = 'loaded' and loaded_at between ? and ?
        ),
        earlier as (
            select
                n.release_id,
                e.release_id as earlier_id,
                e.value_total as earlier_value,
                row_number() over (
                    partition by n.release_id order by e.received_at desc
                ) as latest
            from loaded n
            join meta.releases e
                on e.source_name = n.source_name
                and e.release_id <> n.release_id
                and e.status = 'loaded'
                and e.loaded_at < ?
        )
        select
            n.release_id, n.source_name, n.period, n.flow, n.currency, n.row_count,
            n.value_total, e.earlier_id, e.earlier_value
        from loaded n
        left join earlier e on e.release_id = n.release_id and e.latest = 1
        order by n.source_name
        """,
        [window[0], window[1], window[0]],
    ).fetchall()
    loaded: list[LoadedRelease] = []
    revisions: list[Revision] = []
    for *fields, earlier_id, earlier_value in rows:
        release = LoadedRelease(*fields)
        loaded.append(release)
        if earlier_id is not None:
            revisions.append(Revision(release, earlier_id, earlier_value))
    return loaded, revisions


def releases_table(changes: RunChanges) -> list[dict[str, object]]:
    """The releases the run loaded, a row each (a Prefect table artifact)."""
    return [_table_row(release) for release in changes.loaded]


def _table_row(release: LoadedRelease) -> dict[str, object]:
    return {
        "source_name": release.source_name,
        "release_id": release.release_id[:12],
        "period": _month(release.period),
        "flow": release.flow,
        "rows": release.row_count,
        "value_total": release.value_total,
        "currency": release.currency,
    }


def summary_markdown(summary: RunSummary, changes: RunChanges) -> str:
    """The run in Markdown: its counts, the half-years, and what it loaded, revised, rejected."""
    halves, loaded, revisions = changes.halves, changes.loaded, changes.revisions
    counts = summary.text().splitlines()[0]  # the rejections are listed below
    lines = [
        f"# Customs warehouse run `{summary.run_id[:8]}`",
        "",
        f"{md.text(counts)} Published {md.code(summary.warehouse_path)}.",
        "",
        f"## China-DPRK ({PARTNER}) trade by half-year, US dollars",
        "",
    ]
    if halves:
        lines += [
            "| half | China's exports | China's imports | total | total vs a year earlier "
            "| months |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {year} {half} | {whole(export)} | {whole(import_)} | {whole(total)} "
            f"| {percent(yoy, missing='')} | {months} |"
            for year, half, export, import_, total, yoy, months in halves
        ]
    else:
        lines.append(f"No {PARTNER} figures in the warehouse yet.")
    lines += ["", "## Changes since the last run", "", f"### Releases loaded ({len(loaded)})", ""]
    if loaded:
        lines += [
            "| file | release | period | flow | rows | value |",
            "| --- | --- | --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {_cell(r.source_name)} | `{r.release_id[:12]}` | {_month(r.period)} | {r.flow} "
            f"| {whole(r.row_count)} | {whole(r.value_total)} {r.currency or ''} |"
            for r in loaded
        ]
    else:
        lines.append("None.")
    lines += ["", f"### Revised figures ({len(revisions)})", ""]
    if revisions:
        lines += [
            "Files delivered again under the same name with other bytes: the new vintage "
            "replaces the earlier one in the marts (the earlier rows stay in `core`).",
            "",
            "| file | period | flow | earlier release | earlier value | new release "
            "| new value | change |",
            "| --- | --- | --- | --- | ---: | --- | ---: | ---: |",
        ]
        for rev in revisions:
            new = rev.release
            change = (
                new.value_total - rev.earlier_value
                if new.value_total is not None and rev.earlier_value is not None
                else None
            )
            lines.append(
                f"| {_cell(new.source_name)} | {_month(new.period)} | {new.flow} "
                f"| `{rev.earlier_id[:12]}` | {whole(rev.earlier_value)} "
                f"| `{new.release_id[:12]}` | {whole(new.value_total)} "
                f"| {signed_whole(change)} {new.currency or ''} |"
            )
    else:
        lines.append("None.")
    lines += ["", f"### Rejected files ({len(summary.rejected)})", ""]
    if summary.rejected:
        for name, why in summary.rejected.items():
            reason = why.strip().splitlines() or [""]
            lines.append(f"- {md.code(name)}: {md.text(reason[0])}")
            lines += [f"  {md.text(line)}" for line in reason[1:]]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _month(period: dt.date | None) -> str:
    return "" if period is None else period.strftime("%Y-%m")


def _cell(text: str) -> str:
    """A file name in a table cell: text, not markup (markdown.text)."""
    return md.text(text)
