"""Keeping the rollup tables (nps.models) equal to the raw rows they summarise.

A rollup row is never updated in place. `rollups_refresh_day` recomputes one whole local
day of every table from the raw rows, in one transaction: delete the day's rows, then
per table one INSERT ... SELECT ... GROUP BY of the raw rows into the finest grain and
the coarser grains summed from finer grains' rows, a wave of grains per INSERT
(nps.reporting.grains); the rows never pass through Python. `rollups_refresh_span` does
the same for several consecutive days at once (a rebuild's days with little data).
That makes every change land the same way, whatever it was: a new response, a corrected
score, a deleted row, a late receipt, a case contacted or resolved. Nothing hooks into
the apps' writes (surveys and followups never import nps).

How the tables stay maintained as data changes:

- every `NPS_ROLLUP_REFRESH_SECONDS` (30 s) beat runs `nps.tasks.refresh_rollups`, which
  recomputes today (new responses and corrections show within a minute) and the older
  days of cases with a history event in the last `NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS` (a
  case contacted, resolved or verified weeks after it opened: every change to a case
  writes its history);
- every 10 minutes `nps.tasks.refresh_recent_rollups` recomputes the last
  `NPS_ROLLUP_REFRESH_DAYS` local days (default 3, today included): late receipts and
  replies that change a recent day's funnel;
- nightly beat runs `nps.tasks.rebuild_recent_rollups`: the last 30 days (in spans, as a
  rebuild), a safety net for changes no history records;
- `manage.py rollups_rebuild [--from] [--to]` recomputes any span, e.g. after a bulk
  import or a change of the routing rules (the NPS/funnel team is the routed team).

A day is the local date in `settings.NPS_REPORTING_TIME_ZONE` of the response's
created_at (NPS, reasons), the interaction's occurred_at (funnel) and the case's
opened_at (cases). Running twice at once is safe: a day is recomputed under a per-day
lock on PostgreSQL (SQLite's IMMEDIATE transactions already serialise writers).
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import uuid4

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from followups.models import Case, RoutingRule, Team
from followups.routing import route
from nps.models import NO_TEAM, TeamMap
from nps.reporting.days import day_bounds, days_between, local_today, reporting_zone
from nps.reporting.rollup_tables import ROLLUPS, rollup_tables_fill
from surveys.models import Interaction

Router = Callable[[str, str, str], int]  # (region, tier, touchpoint) -> team id or NO_TEAM
LOCK_NAMESPACE = 7_310_001  # pg_advisory_xact_lock(namespace, day): one refresh per day
STAMP_KEY = "nps.rollups.stamp"


def rollups_stamp() -> str:
    """A value that changes whenever a rollup day is recomputed, for caches of what is read
    from the rollups (the dashboard's filter lists) to key on.

    Kept in CACHES["default"]: with a shared cache (Redis) every process sees a refresh at
    once; with the per-process default the web processes never see the worker's, so those
    caches must also expire (they do, after NPS_ROLLUP_REFRESH_SECONDS)."""
    return str(cache.get_or_set(STAMP_KEY, lambda: uuid4().hex, timeout=None))


def _rollups_changed() -> None:
    cache.set(STAMP_KEY, uuid4().hex, timeout=None)


def team_router() -> Router:
    """Routing's team for (region, tier, touchpoint): two queries, then once per distinct key."""
    rules = list(RoutingRule.objects.filter(is_active=True).order_by("order", "id"))
    teams = list(Team.objects.order_by("id"))
    chosen: dict[tuple[str, str, str], int] = {}

    def team(region: str, tier: str, touchpoint: str) -> int:
        key = (region, tier, touchpoint)
        if key not in chosen:
            found = route(rules, teams, region=region, tier=tier, touchpoint=touchpoint)
            chosen[key] = NO_TEAM if found is None else found
        return chosen[key]

    return team


def _team_map_update(lo: datetime, hi: datetime, team: Router) -> None:
    """Routing's team for every (region, tier, touchpoint) met in the span's interactions.

    Only missing or changed keys are written: an upsert of an unchanged row would still
    lock it to the end of the span's transaction, and spans rebuilt in parallel would then
    wait for each other.
    """
    keys = (
        Interaction.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi)
        .values_list("customer__region", "customer__tier", "touchpoint")
        .distinct()
        .order_by()
    )
    mapped = {(m.region, m.tier, m.touchpoint): m.team_id for m in TeamMap.objects.all()}
    wanted = {key: team(*key) for key in sorted(set(keys))}
    rows = [
        TeamMap(region=r, tier=t, touchpoint=p, team_id=team_id)
        for (r, t, p), team_id in wanted.items()
        if mapped.get((r, t, p)) != team_id
    ]
    if rows:
        TeamMap.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["region", "tier", "touchpoint"],
            update_fields=["team_id"],
        )


def _days_lock(first: date, last: date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # JIT compiling these wide GROUP BYs costs more than running them (~1.5 s a day),
            # and a day's finest grain sorts tens of thousands of rows: keep that in memory.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # Each day's lock, in day order (two overlapping spans cannot deadlock).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, d) FROM generate_series(%s, %s) AS d",
                [LOCK_NAMESPACE, first.toordinal(), last.toordinal()],
            )


def rollups_refresh_span(*, first: date, last: date, team: Router | None = None) -> None:
    """Recompute every rollup table for the local days first..last from the raw rows, in
    one transaction (idempotent). Each statement covers the whole span: a rebuild of
    days with little data in each pays the statements once, not once a day
    (nps.reporting.rebuild groups the days)."""
    team = team or team_router()
    lo, hi = day_bounds(first, last)
    with transaction.atomic():
        _days_lock(first, last)  # a concurrent refresh of these days waits, then sees ours
        _team_map_update(lo, hi, team)
        for model in ROLLUPS:
            model._default_manager.filter(day__gte=first, day__lte=last).delete()
        rollup_tables_fill(first=first, last=last)
    _rollups_changed()  # once the days are committed (unless inside an outer transaction)


def rollups_refresh_day(*, day: date, team: Router | None = None) -> None:
    """Recompute every rollup table for one local day from the raw rows (idempotent)."""
    rollups_refresh_span(first=day, last=day, team=team)


def changed_case_days(*, since: datetime) -> set[date]:
    """Local days of the cases with a history event since `since`.

    Every change to a case writes its history (followups.history): a contact, an
    outcome, a verification answer, a reassignment. Those change the day the case opened,
    which may be weeks old.
    """
    zone = reporting_zone()
    opened = (
        Case.objects.filter(events__at__gte=since)
        .values_list("opened_at", flat=True)
        .distinct()
        .order_by()
    )
    return {timezone.localtime(at, zone).date() for at in opened}


def rollups_refresh_recent(
    *, days: int | None = None, changed_since: datetime | None = None
) -> int:
    """Recompute the last `days` local days (default NPS_ROLLUP_REFRESH_DAYS) and the older
    days whose cases changed since `changed_since`; returns how many days."""
    days = settings.NPS_ROLLUP_REFRESH_DAYS if days is None else days
    today = local_today()
    recent = days_between(today - timedelta(days=days - 1), today)
    older = set() if changed_since is None else changed_case_days(since=changed_since)
    team = team_router()
    chosen = sorted(older - set(recent)) + recent
    for day in chosen:
        rollups_refresh_day(day=day, team=team)
    return len(chosen)
