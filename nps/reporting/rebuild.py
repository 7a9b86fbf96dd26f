"""Recomputing a span of days (`manage.py rollups_rebuild`), several days at once on
PostgreSQL, each thread on its own connection and each day its own transaction."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.db import connection
from django.db.models.functions import TruncDate

from followups.models import Case
from nps.reporting.days import days_between, reporting_zone
from nps.reporting.refresh import rollups_refresh_day, team_router
from nps.reporting.rollup_tables import ROLLUPS
from surveys.models import Interaction, Response


def _data_days() -> list[date]:
    """The local days holding raw rows or rollup rows (stale rows are days too), in order:
    what a rebuild without both bounds recomputes. A day without either would come out
    empty, and each costs a refresh (sparse histories: tests, a pilot's first months)."""
    zone = reporting_zone()
    sources = [(Response, "created_at"), (Interaction, "occurred_at"), (Case, "opened_at")]
    days: set[date] = set()
    for model, moment in sources:
        local = model._default_manager.annotate(local_day=TruncDate(moment, tzinfo=zone))
        days.update(local.order_by().values_list("local_day", flat=True).distinct())
    for rollup in ROLLUPS:
        days.update(rollup._default_manager.order_by().values_list("day", flat=True).distinct())
    return sorted(days)


def rollups_rebuild(
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[date], None] | None = None,
    jobs: int = 1,
) -> int:
    """Recompute every day from start to end; without both, the days with data from start
    or up to end (_data_days). Returns how many days.

    jobs > 1 recomputes that many days at once, each thread on its own connection
    (PostgreSQL; SQLite serialises writers, so there it stays one at a time). A day is
    still one transaction; an error stops the rebuild after the days already done.
    """
    if start is not None and end is not None:
        days = days_between(start, end)
    else:
        days = [d for d in _data_days() if (start or d) <= d <= (end or d)]
    if not days:
        return 0
    team = team_router()
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
