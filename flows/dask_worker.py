"""Code that runs on the Dask workers for the flow, apart from the tasks themselves: imported
only when CUSTOMS_DASK_ADDRESS is set (distributed takes a while to import)."""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin


class ReportToFlowApi(WorkerPlugin):
    """A Dask worker plugin: the worker's Prefect settings point at the flow's API while the
    flow runs (also on workers that join later).

    A task run on a worker reads the API address from the flow's serialized settings, but
    Prefect's background services there (events, logs) read the process's settings, which
    have no address when the flow runs on a local temporary server: they would start a
    temporary server of their own. The previous address comes back on teardown."""

    name = "customs-etl-prefect-api"

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.previous: str | None = None

    def setup(self, worker: object) -> None:
        from prefect.context import refresh_global_settings_context

        self.previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = self.api_url
        refresh_global_settings_context()

    def teardown(self, worker: object) -> None:
        from prefect.context import refresh_global_settings_context

        if self.previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = self.previous
        refresh_global_settings_context()
