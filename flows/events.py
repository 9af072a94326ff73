"""The job's Prefect events, in the domain's words: what the automations of flows/automations/
react to, and what the event feed of Prefect's UI shows.

- `customs.release.quarantined`: resource `customs.release.<sha256>` named after the file;
  payload file, release_id, stage, check, reason, report (the quarantine report's path).
- `customs.source.down`: resource `customs.source.<url>`; payload url, reason, attempts.
- `customs.run.published`: resource `customs.warehouse.<path>`; payload warehouse (the path),
  months (of the releases loaded: new or revised), releases, rows, rejected. Also what the
  "nothing published" alert waits for, one window per warehouse.
- `customs.cross_check.disagreed`: resource `customs.cross_check.<partner>.<flow>.<month>`;
  payload partner, flow, month, currency, value_detailed, value_preliminary, difference_pct,
  tolerance, source.
- `customs.month.published`: resource `customs.month.<YYYY-MM>`, one per month loaded.
- `customs.month.overdue`: resource `customs.month.<YYYY-MM>`, from the check after the 25th
  (flows/month_check.py); payload month, deadline, latest_published, warehouse.

Emitted inside a flow run, each event is related to that flow run, its flow and deployment,
which is how an alert names them. Sending is best effort: Prefect's events worker logs and
drops what it cannot send, and a run never fails because of its events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prefect.events import emit_event

from customs_etl.extract import fetch, gacc_calendar

if TYPE_CHECKING:
    from customs_etl.job import Rejection, RunSummary
    from customs_etl.validate.cross_check import Disagreement

QUARANTINED = "customs.release.quarantined"
SOURCE_DOWN = "customs.source.down"
RUN_PUBLISHED = "customs.run.published"
CROSS_CHECK_DISAGREED = "customs.cross_check.disagreed"
MONTH_PUBLISHED = "customs.month.published"
MONTH_OVERDUE = "customs.month.overdue"


def emit_run_events(summary: RunSummary) -> None:
    """Everything a finished run has to say: its rejections, its disagreements and, if it
    published, the months it loaded."""
    for rejection in summary.rejections:
        release_quarantined(rejection, summary.quarantine_dir)
    for disagreement in summary.disagreements:
        cross_check_disagreed(disagreement)
    if summary.published:
        run_published(summary)


def release_quarantined(rejection: Rejection, quarantine_dir: str | None) -> None:
    report = Path(quarantine_dir) / f"{rejection.release_id}.md" if quarantine_dir else None
    emit_event(
        QUARANTINED,
        resource={
            "prefect.resource.id": f"customs.release.{rejection.release_id}",
            "prefect.resource.name": rejection.file,
        },
        payload={
            "file": rejection.file,
            "release_id": rejection.release_id,
            "stage": rejection.stage,
            "check": rejection.check,
            "reason": rejection.reason,
            "report": str(report) if report else None,
        },
    )


@contextlib.contextmanager
def source_down_is_told(url: str, attempts: int) -> Iterator[None]:
    """Around the fetch of one page (with its retries): if it still fails, say so, then let
    the failure end the run as before."""
    try:
        yield
    except Exception as error:
        retried = isinstance(error, fetch.RetryableFetchError)  # others fail at once
        tried = attempts if retried else 1
        emit_event(
            SOURCE_DOWN,
            resource={"prefect.resource.id": f"customs.source.{url}", "prefect.resource.name": url},
            payload={"url": url, "reason": str(error), "attempts": tried},
        )
        raise


def run_published(summary: RunSummary) -> None:
    emit_event(
        RUN_PUBLISHED,
        resource={
            "prefect.resource.id": f"customs.warehouse.{summary.warehouse_path}",
            "prefect.resource.name": Path(summary.warehouse_path).name,
        },
        payload={
            "warehouse": summary.warehouse_path,
            "months": sorted(set(summary.months_loaded)),
            "releases": len(summary.loaded),
            "rows": summary.rows_loaded,
            "rejected": len(summary.rejections),
        },
    )
    for month in sorted(set(summary.months_loaded)):
        emit_event(
            MONTH_PUBLISHED,
            resource={"prefect.resource.id": f"customs.month.{month}"},
            payload={"month": month, "warehouse": summary.warehouse_path},
        )


def cross_check_disagreed(disagreement: Disagreement) -> None:
    d = disagreement
    emit_event(
        CROSS_CHECK_DISAGREED,
        resource={"prefect.resource.id": f"customs.cross_check.{d.partner}.{d.flow}.{d.month}"},
        payload={
            "partner": d.partner,
            "flow": d.flow,
            "month": d.month,
            "currency": d.currency,
            "value_detailed": d.value_detailed,
            "value_preliminary": d.value_preliminary,
            "difference_pct": d.difference_pct,
            "tolerance": d.tolerance,
            "source": d.source,
        },
    )


def month_overdue(month: str, published_months: set[str], warehouse_path: Path) -> None:
    emit_event(
        MONTH_OVERDUE,
        resource={"prefect.resource.id": f"customs.month.{month}"},
        payload={
            "month": month,
            "deadline": f"{gacc_calendar.deadline(month):%Y-%m-%d}",
            "latest_published": max(published_months) if published_months else None,
            "warehouse": str(warehouse_path),
        },
    )
