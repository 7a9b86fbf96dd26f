"""Recomputing a span of days (`manage.py rollups_rebuild`), several days at once on
PostgreSQL, each thread on its own connection and each day its own transaction."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from followups.models import Case
from nps.reporting.days import days_between, reporting_zone
from nps.reporting.refresh import rollups_refresh_day, team_router
from nps.reporting.rollup_tables import ROLLUPS
from surveys.models import Interaction, Response


def _data_span() -> tuple[date, date] | None:
    """First and last local day holding raw rows or rollup rows (stale rows are days too)."""
    zone = reporting_zone()
    spans = [
        Response.objects.aggregate(lo=Min("created_at"), hi=Max("created_at")),
        Interaction.objects.aggregate(lo=Min("occurred_at"), hi=Max("occurred_at")),
        Case.objects.aggregate(lo=Min("opened_at"), hi=Max("opened_at")),
    ]
    days = [timezone.localtime(v, zone).date() for s in spans for v in s.values() if v]
    for model in ROLLUPS:
        span = model._default_manager.aggregate(lo=Min("day"), hi=Max("day"))
        days += [v for v in span.values() if v]
    return (min(days), max(days)) if days else None


def rollups_rebuild(
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[date], None] | None = None,
    jobs: int = 1,
) -> int:
    """Recompute every day from start to end (default: all days with data); returns days.

    jobs > 1 recomputes that many days at once, each thread on its own connection
    (PostgreSQL; SQLite serialises writers, so there it stays one at a time). A day is
    still one transaction; an error stops the rebuild after the days already done.
    """
    span = _data_span() if start is None or end is None else (start, end)
    if span is None:
        return 0
    team = team_router()
    days = days_between(start or span[0], end or span[1])
    lock = threading.Lock()

    def refresh(mine: list[date]) -> None:
        for day in mine:
            rollups_refresh_day(day=day, team=team)
            if progress:
                with lock:
                    progress(day)

    if jobs <= 1 or connection.vendor != "postgresql" or len(days) < 2:
        refresh(days)
        return len(days)

    def share(mine: list[date]) -> None:
        try:
            refresh(mine)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        shares = [pool.submit(share, days[i::jobs]) for i in range(jobs)]
        for done in shares:
            done.result()  # re-raises a thread's error
    return len(days)
