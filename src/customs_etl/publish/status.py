"""What the warehouse holds, as text for `customs-etl status`."""

from __future__ import annotations

import duckdb


def status_facts(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Data as of: the latest month per flow, the releases behind it and the last run."""
    months = con.execute(
        "select flow, strftime(max(period_end), '%Y-%m') from marts.trade_monthly "
        "where flow <> 'total' group by flow order by flow"
    ).fetchall()
    [(count, received, finished)] = con.execute(
        "select count(*), strftime(max(received_at), '%Y-%m-%d %H:%M'), "
        "(select strftime(max(finished_at), '%Y-%m-%d %H:%M') from meta.runs) "
        "from meta.releases where status = 'loaded'"
    ).fetchall()
    return {
        "latest_month": dict(months),
        "releases_loaded": count,
        "latest_received_utc": received,
        "last_run_finished_utc": finished,
    }


def describe_facts(facts: dict[str, object]) -> str:
    """The facts of `status_facts` in one sentence."""
    months: dict[str, str] = facts["latest_month"]  # type: ignore[assignment]
    latest = ", ".join(f"{flow} {month}" for flow, month in months.items()) or "no data"
    return (
        f"Data as of: {latest}; {facts['releases_loaded']} release file(s) loaded, the latest "
        f"received {facts['latest_received_utc']} UTC; last run finished "
        f"{facts['last_run_finished_utc']} UTC."
    )


# Columns that say when, not what: two builds of the same releases differ only in these.
_WHEN_COLUMNS = ("built_at", "loaded_at", "received_at")


def marts_digest(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per mart: its row count and an order-independent digest of its rows (the sum of the
    rows' hashes), leaving out the columns that say when. Two warehouses built from the same
    releases, in any order, by any backend, give the same digests."""
    names = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' order by table_name"
    ).fetchall()
    digests = {}
    for (name,) in names:
        columns = [
            column
            for (column,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [name],
            ).fetchall()
            if column not in _WHEN_COLUMNS
        ]
        row = ", ".join(f'"{column}"' for column in columns)
        count, digest = con.execute(
            f'select count(*), coalesce(sum(hash(row({row}))::hugeint), 0) from marts."{name}"'
        ).fetchone()  # type: ignore[misc]
        digests[name] = (int(count), int(digest))
    return digests
