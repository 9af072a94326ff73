"""GACC's release calendar: the month it publishes during month M is M-1, by the 25th of M,
Beijing time (Asia/Shanghai). The check after that deadline (flows/month_check.py) asks which
month should be in the warehouse by now."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE_DAY = 25


def last_due_month(at: dt.datetime) -> str:
    """The latest month (YYYY-MM) whose deadline has passed at `at`: on the 26th of month M
    or later (Shanghai), M-1; before that, M-2."""
    here = at.astimezone(SHANGHAI).date()
    back = 1 if here.day > DEADLINE_DAY else 2
    year, month = divmod(here.year * 12 + here.month - 1 - back, 12)
    return f"{year:04d}-{month + 1:02d}"


def deadline(month: str) -> dt.date:
    """The last day (Shanghai) by which GACC publishes `month`: the 25th of the next month."""
    first = dt.date.fromisoformat(f"{month}-01")
    return (first + dt.timedelta(days=32)).replace(day=DEADLINE_DAY)
