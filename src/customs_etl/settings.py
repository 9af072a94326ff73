"""One settings object for the whole product: environment variables with a CUSTOMS_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository root: src/customs_etl/settings.py -> ../../
PROJECT_DIR = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Where things are and how the job behaves; every field can be set as CUSTOMS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMS_", env_file=".env", extra="ignore")

    project_dir: Path = PROJECT_DIR
    landing_dir: Path = Field(default=PROJECT_DIR / "data" / "sample" / "landing")
    warehouse_path: Path = Field(default=PROJECT_DIR / "warehouse" / "customs.duckdb")
    # Private scratch space of the job: parsed releases as Parquet.
    work_dir: Path = Field(default=PROJECT_DIR / ".customs")
    sql_dir: Path = Field(default=PROJECT_DIR / "sql")
    seeds_dir: Path = Field(default=PROJECT_DIR / "seeds")
    expectations_dir: Path = Field(default=PROJECT_DIR / "expectations")
    # DuckDB resources for the build; the defaults suit a 2-core, small-memory machine.
    duckdb_threads: int = 2
    # 500MB: full builds of the large marts run a few months at a time (models.CHUNK_MONTHS),
    # so a national-scale build (13M core rows) fits; the job's process also holds ~0.75 GB of
    # Python (Prefect, GX, a validation batch), and the two stay under the 1.5 GB target (a
    # national backfill peaked at 1.27 GB; 1.37-1.50 GB at 600MB). The full marts build took
    # 37 s at 1GB and 700MB, 40 s at 500MB; the whole backfill took the same time.
    duckdb_memory_limit: str = "500MB"
    # Earlier publications kept for `customs-etl rollback`: embedded, as the releases each held
    # (meta.versions; publish/versions.py); on the lake, published snapshots (older expired).
    keep_versions: int = 5
    # The embedded backend builds in the spare version, caught up, instead of a copy of the
    # published file, when the rows of the releases it lacks (or has in excess) are at most
    # this share of the published rows (publish/spare.py). 10%: a monthly run catches up from
    # 10 months of history on, so no run past that copies the whole file; a backfill of more
    # than a tenth of the rows copies (writing a row costs about 40x copying its bytes).
    # Measured (docs/benchmarks.md, "Versions as release sets"): a month on 12 months, caught
    # up 3.2-3.3 s against 2.6-2.7 s copied from the page cache; on 118, 3.8-4.1 s.
    spare_max_lag: float = 0.1
    # The lake backend (src/customs_etl/lake.py), when set: the DuckLake catalog as DuckDB's
    # ducklake extension takes it after `ducklake:` (`postgres:dbname=... host=... port=...
    # user=...` or `sqlite:/path/catalog.sqlite`), and where its Parquet files go (a folder or
    # s3://bucket/prefix/; S3 credentials and endpoint from the standard AWS_* variables).
    # Unset: the embedded DuckDB file at warehouse_path.
    lake_catalog: str | None = None
    lake_data_path: str | None = None
    # How long a run on the lake waits for another host's run to finish before it ends with
    # "another run is in progress" (0: at once, as on the embedded backend).
    lake_lock_wait_seconds: float = Field(default=0.0, ge=0)
    # Where every received file is kept under its SHA-256 (default: warehouse/landing_zone/).
    landing_zone_dir: Path | None = None
    # Preliminary tables to fetch on each run: page URLs, and/or index pages linking to them.
    preliminary_urls: list[str] = Field(default_factory=list)
    preliminary_index_urls: list[str] = Field(default_factory=list)
    fetch_timeout_seconds: float = 30.0
    fetch_attempts: int = 4
    fetch_backoff_seconds: float = 5.0
    # A release file larger than this (a .csv.gz or .xlsx: unpacked) is refused before it is
    # read whole. Query downloads are capped at 10,000 rows, a few MB; this is far above that.
    max_release_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    # Release files worked on at once, when kept in the landing zone (hashed and copied) and
    # when staged. Twice the cores of this machine: a file's reads, writes and Python steps
    # leave its core idle in between (400 national files: 2 at a time kept 1.5 cores busy in
    # 3.0 s, 4 kept 1.7 in 2.6 s; discovery 0.9-1.0 s -> 0.8 s).
    parse_workers: int = Field(default=4, ge=1)
    # Where the Prefect automations of flows/automations/ send alerts (`python -m flows.alerts
    # apply`, run by `make serve`): a URL that receives a JSON POST (a generic webhook block
    # "customs-alerts" is created or updated), or an existing notification block "TYPE/NAME"
    # (Slack, Teams, email...), which wins. Neither: the automations only record their firing.
    alert_webhook_url: str | None = None
    alert_block: str | None = None
    # A Dask scheduler (tcp://host:port): the build-warehouse flow then parses and validates on
    # its workers (flows/compute.py); loading stays in the flow's process. Unset: everything
    # runs there. `customs-etl run`/`ingest` run the flow when it is set.
    dask_address: str | None = None
    # How long the flow waits for that scheduler (and a first worker) before giving up.
    dask_connect_timeout_seconds: float = Field(default=20.0, gt=0)
    # Ad-hoc SQL (`customs-etl sql`, `shell`): a query running longer is stopped; what a query
    # may spill to disk, in its own folder under work_dir (not beside the warehouse).
    sql_timeout_seconds: float = Field(default=60.0, gt=0)
    sql_max_spill: str = "2GB"
    sql_memory_limit: str = "500MB"
    # Line history of `customs-etl shell`.
    shell_history: Path = Field(default_factory=lambda: Path.home() / ".customs_etl_history")

    @property
    def parsed_dir(self) -> Path:
        """Parsed releases as Parquet, by checksum: kept between runs as a cache."""
        return self.work_dir / "parsed"

    @property
    def sql_spill_dir(self) -> Path:
        return self.work_dir / "sql_spill"

    @property
    def landing_zone(self) -> Path:
        return self.landing_zone_dir or self.warehouse_path.parent / "landing_zone"

    @property
    def quarantine_dir(self) -> Path:
        """Reports on refused releases, beside the warehouse they were kept out of."""
        return self.warehouse_path.parent / "quarantine"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (None means: keep the default)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
