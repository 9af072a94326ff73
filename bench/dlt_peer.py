"""The bench's peer: dlt loading the same CSV files raw into DuckDB, in dlt's Arrow mode.

Runs in the bench's own environment (.bench-venv, made by bench/run_bench.py with the pinned
versions of PEER_REQUIREMENTS there), never in the product's: the product does not depend on
dlt. No typing, validation or marts: the files as DuckDB's CSV sniffer reads them, one table.

    .bench-venv/bin/python bench/dlt_peer.py FOLDER WORKDIR

Prints one JSON line: seconds of the pipeline run, rows loaded, peak RSS (getrusage).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def main(folder: Path, workdir: Path) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    import duckdb
    from dlt.sources.filesystem import filesystem, read_csv_duckdb

    database = workdir / "peer.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name="bench_peer",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="raw",
    )
    files = filesystem(bucket_url=folder.resolve().as_uri(), file_glob="**/*.csv")
    started = time.perf_counter()
    pipeline.run(files | read_csv_duckdb(use_pyarrow=True), table_name="trade")
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(database), read_only=True)
    [(rows,)] = con.execute("select count(*) from raw.trade").fetchall()
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "maxrss": peak}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
