"""China Customs (GACC) trade releases -> a DuckDB warehouse of monthly and half-year marts."""

import importlib.metadata
import os

# Telemetry of the libraries we run is off unless a user turns it on.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# One version string: the package metadata (pyproject.toml), as `customs-etl --version` says.
__version__ = importlib.metadata.version("customs-etl")
