"""Recomputing a span of days (`manage.py rollups_rebuild`): consecutive days with little
data together in one transaction (their statements paid once, not once a day), a busy day
alone; several spans at once on PostgreSQL, each thread on its own connection."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate

from followups.models import Case
from nps.reporting.days import day_bounds, days_between, reporting_zone
from nps.reporting.refresh import rollups_refresh_span, team_router
from nps.reporting.rollup_tables import ROLLUPS
from surveys.models import Interaction, Response

# A span takes consecutive days until their raw rows (responses, interactions and cases)
# pass this many: the cost of a span is its statements (about 60) plus its rows, so days
# of a few thousand rows gain from being together and a day of a hundred thousand does
# not (docs/benchmarks.md, "Spans of days"). A span never covers more than SPAN_DAYS.
SPAN_ROWS = 50_000
SPAN_DAYS = 31


def _day_rows(start: date | None = None, end: date | None = None) -> Counter[date]:
    """Raw rows per local day from start to end (open ends: all), and every day holding
    rollup rows (stale rows are days too, weighing nothing): the days a rebuild without
    both bounds recomputes, and what each weighs."""
    zone = reporting_zone()
    sources = [(Response, "created_at"), (Interaction, "occurred_at"), (Case, "opened_at")]
    rows: Counter[date] = Counter()
    for model, moment in sources:
        found = model._default_manager.all()
        if start is not None:
            found = found.filter(**{f"{moment}__gte": day_bounds(start)[0]})
        if end is not None:
            found = found.filter(**{f"{moment}__lt": day_bounds(end)[1]})
        per_day = (
            found.annotate(local_day=TruncDate(moment, tzinfo=zone))
            .order_by()
            .values_list("local_day")
            .annotate(rows=Count("pk"))
        )
        rows.update(dict(per_day))
    for rollup in ROLLUPS:
        stale = rollup._default_manager.order_by().values_list("day", flat=True).distinct()
        if start is not None:
            stale = stale.filter(day__gte=start)
        if end is not None:
            stale = stale.filter(day__lte=end)
        rows.update(dict.fromkeys(stale, 0))
    return rows


def day_spans(days: list[date], rows: Counter[date]) -> list[list[date]]:
    """The days (in order) cut into spans: a span closes before the day that would take
    its raw rows past SPAN_ROWS or its length past SPAN_DAYS. A span recomputes every
    calendar day from its first to its last, so the days between two listed days weigh
    too (none for a rebuild, where they hold no data; some when a few scattered days are
    asked for)."""
    spans: list[list[date]] = []
    weight = 0
    for day in days:
        if spans:
            current = spans[-1]
            gap = (day - current[-1]).days
            added = sum(rows[current[-1] + timedelta(days=n)] for n in range(1, gap + 1))
            if weight + added <= SPAN_ROWS and (day - current[0]).days < SPAN_DAYS:
                current.append(day)
                weight += added
                continue
        spans.append([day])
        weight = rows[day]
    return spans


def rollups_rebuild(
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[date], None] | None = None,
    jobs: int = 1,
) -> int:
    """Recompute every day from start to end; without both, the days with data from start
    or up to end. Returns how many days.

    The days go in spans (day_spans), each one transaction: its days' rows are replaced
    together. The calendar days inside a span that are not listed hold no data, so they
    come out empty, as they would alone. jobs > 1 recomputes that many spans at once,
    each thread on its own connection (PostgreSQL; SQLite serialises writers, so there
    it stays one at a time). An error stops the rebuild after the spans already done.
    """
    rows = _day_rows(start, end)
    days = sorted(rows) if start is None or end is None else days_between(start, end)
    if not days:
        return 0
    spans = day_spans(days, rows)
    team = team_router()
    lock = threading.Lock()

    def refresh(mine: list[list[date]]) -> None:
        for span in mine:
            rollups_refresh_span(first=span[0], last=span[-1], team=team)
            if progress:
                with lock:
                    for day in span:
                        progress(day)

    if jobs <= 1 or connection.vendor != "postgresql" or len(spans) < 2:
        refresh(spans)
        return len(days)

    def share(mine: list[list[date]]) -> None:
        try:
            refresh(mine)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        shares = [pool.submit(share, spans[i::jobs]) for i in range(jobs)]
        for done in shares:
            done.result()  # re-raises a thread's error
    return len(days)


def rollups_refresh_days(*, days: list[date]) -> int:
    """Recompute these local days (e.g. those of interactions attributed later), in spans
    as a rebuild does; returns how many were asked for."""
    chosen = sorted(set(days))
    if not chosen:
        return 0
    team = team_router()
    for span in day_spans(chosen, _day_rows(chosen[0], chosen[-1])):
        rollups_refresh_span(first=span[0], last=span[-1], team=team)
    return len(chosen)
