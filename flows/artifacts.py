"""What a run that published leaves in Prefect for a person to read: the China-DPRK half-years
and what changed, as a Markdown artifact, and the releases it loaded, as a table artifact.

Prefect calls only: the text and the table are written by customs_etl.report.run_summary, read
back from the published warehouse (read-only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger, get_run_logger

from customs_etl import backend
from customs_etl.report import run_summary

if TYPE_CHECKING:
    from customs_etl.job import RunSummary
    from customs_etl.settings import Settings

SUMMARY_KEY = "customs-run-summary"
RELEASES_KEY = "customs-releases-loaded"


def publish_run_artifacts(summary: RunSummary, settings: Settings) -> None:
    """Create the run's artifacts; a run that published is not failed by its report."""
    try:
        con = backend.open_reader(settings)
        try:
            changes = run_summary.read_run(con, summary.run_id)
        finally:
            con.close()
        create_markdown_artifact(
            markdown=run_summary.summary_markdown(summary, changes),
            key=SUMMARY_KEY,
            description="China-DPRK trade by half-year and what this run changed",
        )
        create_table_artifact(
            table=run_summary.releases_table(changes),
            key=RELEASES_KEY,
            description="Release files loaded by this run",
        )
    except Exception as error:
        _logger().warning("Could not create the run's artifacts: %s", error, exc_info=True)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("customs_etl.artifacts")
