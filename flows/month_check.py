"""The check after GACC's deadline: is last month in the warehouse by the end of the 25th?

Scheduled by the `deadline` deployment (prefect.yaml) at 00:05 on the 26th, Asia/Shanghai. It
only reads the published warehouse; when the month is missing it emits
`customs.month.overdue`, which the "customs: month overdue" automation turns into an alert.
A scheduled check rather than a proactive trigger: see "Operating it" in README.md.
"""

from __future__ import annotations

import datetime as dt
import re

from prefect import flow, get_run_logger

from customs_etl.extract import gacc_calendar
from customs_etl.load import registry
from customs_etl.settings import get_settings
from flows import events

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@flow(name="check-month-published")
def check_month_published(month: str | None = None, warehouse_path: str | None = None) -> bool:
    """Whether `month` (YYYY-MM; default: the latest whose deadline has passed, which on the
    26th is last month) is in the published warehouse; if not, the overdue event is emitted."""
    if month is not None and not _MONTH.fullmatch(month):
        raise ValueError(f"month {month!r}: expected a month as YYYY-MM")
    settings = get_settings(warehouse_path=warehouse_path)
    month = month or gacc_calendar.last_due_month(dt.datetime.now(dt.UTC))
    published = registry.published_months(settings.warehouse_path)
    logger = get_run_logger()
    if month in published:
        logger.info("%s is published in %s", month, settings.warehouse_path)
        return True
    latest = max(published) if published else "none"
    logger.warning(
        "%s is not in %s (due by %s; latest month published: %s)",
        month,
        settings.warehouse_path,
        gacc_calendar.deadline(month),
        latest,
    )
    events.month_overdue(month, published, settings.warehouse_path)
    return False
