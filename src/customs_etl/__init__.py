"""China Customs (GACC) trade releases -> a DuckDB warehouse of monthly and half-year marts."""

import os

# Telemetry of the libraries we run is off unless a user turns it on.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

__version__ = "0.1.0"
