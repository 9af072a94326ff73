"""The warehouse past one machine: a real PostgreSQL catalog and an S3 server (moto) on
127.0.0.1, and "hosts" that are separate processes with their own work folders, sharing only
the catalog and the bucket.

Two hosts ingest different months at the same time; one run at a time holds (an advisory lock
in PostgreSQL); a third host with no local warehouse reads both to the dollar through
`customs-etl sql`; the data is Parquet in the bucket, the versions are snapshots in the
catalog, and `as-of` reads an earlier snapshot."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from prefect_server import prefect_server
from services import S3, Postgres, moto_s3, postgres_server
from support import FIXTURES

from customs_etl.load import lake
from customs_etl.publish import lake as lake_publication

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("customs-etl")
BUCKET = "customs-lake"
# Host A: an import month of 2018 (English export); host B: an export month of 2025 (Chinese).
HOST_A_FILE = FIXTURES / "exports" / "en_import_201810_ceuta.csv"
HOST_B_FILE = FIXTURES / "exports" / "zh_export_202506_prk.csv"


def dollars(path: Path, encoding: str, column: str) -> int:
    """The file's dollar total, read here independently of the product's parser."""
    text = path.read_bytes().decode(encoding)
    return sum(int(row[column].replace(",", "")) for row in csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True)
class Lake:
    postgres: Postgres
    s3: S3
    catalog: str  # libpq conninfo of the catalog database
    prefect_api_url: str

    def host_env(self, root: Path, **extra: str) -> dict[str, str]:
        """A host: its own work folder and (unused) warehouse path; only the lake is shared."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CUSTOMS_", "AWS_", "PREFECT_API"))
        }
        root.mkdir(parents=True, exist_ok=True)
        return (
            env
            | self.s3.env()
            | extra
            | {
                "CUSTOMS_LAKE_CATALOG": f"postgres:{self.catalog}",
                "CUSTOMS_LAKE_DATA_PATH": f"s3://{BUCKET}/warehouse/",
                "CUSTOMS_WORK_DIR": str(root / "work"),
                "CUSTOMS_WAREHOUSE_PATH": str(root / "warehouse" / "customs.duckdb"),
                "CUSTOMS_SEEDS_DIR": os.environ["CUSTOMS_SEEDS_DIR"],
                "PREFECT_HOME": str(root / "prefect"),
                # One Prefect server for every host, as deployed (docs/deploy.md).
                "PREFECT_API_URL": self.prefect_api_url,
            }
        )


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """What the hosts share: the catalog, the bucket (and a Prefect server to report to)."""
    prefect_root = tmp_path_factory.mktemp("prefect")
    with postgres_server() as postgres, moto_s3() as s3, prefect_server(prefect_root) as prefect:
        catalog = postgres.create_database("customs_lake")
        s3.create_bucket(BUCKET)
        yield Lake(postgres, s3, catalog, prefect.api_url)


def customs_etl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def snapshots(lake_: Lake) -> list[tuple[int, str | None]]:
    """The catalog's snapshots and their commit messages, read from PostgreSQL itself."""
    with psycopg.connect(lake_.catalog) as con:
        return con.execute(
            "select s.snapshot_id, c.commit_message from ducklake_snapshot s "
            "left join ducklake_snapshot_changes c using (snapshot_id) order by 1"
        ).fetchall()


def test_two_hosts_share_one_lake_and_a_third_reads_it(shared_lake: Lake, tmp_path: Path) -> None:
    host_a = shared_lake.host_env(tmp_path / "host-a", CUSTOMS_LAKE_LOCK_WAIT_SECONDS="240")
    host_b = shared_lake.host_env(tmp_path / "host-b", CUSTOMS_LAKE_LOCK_WAIT_SECONDS="240")
    reader = shared_lake.host_env(tmp_path / "host-c")

    # Another host's run holds the lock: a run that will not wait ends at once and says so.
    with psycopg.connect(shared_lake.catalog, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", [lake._ADVISORY_KEY])
        refused = customs_etl(
            shared_lake.host_env(tmp_path / "host-a"),
            "ingest", str(HOST_A_FILE), "--flow", "import",
        )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    # The command's own line (Prefect also logs the failed flow run, as on the embedded backend).
    lines = refused.stderr.splitlines()
    assert any(line.startswith("another run is in progress on the lake") for line in lines)

    # Both hosts at once: the second to reach the lock waits for the first, then runs.
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            [str(CLI), "ingest", str(path), "--flow", flow],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env, path, flow in (
            (host_a, HOST_A_FILE, "import"),
            (host_b, HOST_B_FILE, "export"),
        )
    ]
    outcomes = [(run.wait(300), *run.communicate()) for run in runs]
    codes = [code for code, _, _ in outcomes]
    print(f"two hosts at once: {time.monotonic() - started:.1f} s, exit codes {codes}")
    for code, out, err in outcomes:
        assert code == 0, out + err

    # A third host with no warehouse of its own reads both months to the dollar.
    assert not (tmp_path / "host-c" / "warehouse").exists()
    answer = customs_etl(
        reader,
        "sql",
        "select strftime(period, '%Y-%m') as month, flow, value_usd from marts.trade_monthly "
        "where flow <> 'total' order by month",
        "--format",
        "csv",
    )
    assert answer.returncode == 0, answer.stderr
    assert list(csv.reader(io.StringIO(answer.stdout)))[1:] == [
        ["2018-10", "import", str(dollars(HOST_A_FILE, "utf-8", "US dollar"))],
        ["2025-06", "export", str(dollars(HOST_B_FILE, "gb18030", "美元"))],
    ]

    # The data is Parquet in the bucket; the versions are snapshots in the catalog, one
    # published by each host's run (and the lake's upkeep after each).
    keys = shared_lake.s3.keys(BUCKET)
    assert keys and all(key.startswith("warehouse/") for key in keys)
    assert any(key.endswith(".parquet") for key in keys)
    published = [
        sid
        for sid, message in snapshots(shared_lake)
        if message == lake_publication.PUBLISH_MESSAGE
    ]
    assert len(published) == 2

    # A release loaded by one host is skipped by the other.
    again = customs_etl(host_b, "ingest", str(HOST_A_FILE), "--flow", "import")
    assert again.returncode == 0, again.stderr
    said = again.stdout + again.stderr
    assert "0 loaded (0 rows), 1 already loaded" in said and "Warehouse unchanged." in said

    # as-of from the first publication's snapshot: only the first host's month was there.
    first = published[0]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    as_of = customs_etl(
        reader, "as-of", day, "--snapshot", str(first), "--out", str(tmp_path / "a.duckdb")
    )
    assert as_of.returncode == 0, as_of.stderr
    assert f"from lake snapshot {first}" in as_of.stdout
    import duckdb

    con = duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True)
    try:
        months = con.execute(
            "select distinct strftime(period, '%Y-%m') from marts.trade_monthly"
        ).fetchall()
    finally:
        con.close()
    assert len(months) == 1
