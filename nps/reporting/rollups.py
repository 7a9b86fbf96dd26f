"""Keeping the rollup tables (nps.models) equal to the raw rows they summarise.

A rollup row is never updated in place. `rollups_refresh_day` recomputes one whole local
day of every table from the raw rows, in one transaction: delete the day's rows, then
per table one INSERT ... SELECT ... GROUP BY of the raw rows into the finest grain and
one INSERT ... SELECT from a finer grain's rows for each coarser grain
(nps.reporting.grains); the rows never pass through Python. That makes every change
land the same way, whatever it was: a new response, a corrected score, a deleted row, a
late receipt, a case contacted or resolved. Nothing hooks into the apps' writes (surveys
and followups never import nps).

How the tables stay maintained as data changes:

- every 60 s beat runs `nps.tasks.refresh_rollups`, which recomputes today (new
  responses and corrections show within a minute) and the older days of cases with a
  history event in the last `NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS` (a case contacted,
  resolved or verified weeks after it opened: every change to a case writes its history);
- every 10 minutes `nps.tasks.refresh_recent_rollups` recomputes the last
  `NPS_ROLLUP_REFRESH_DAYS` local days (default 3, today included): late receipts and
  replies that change a recent day's funnel;
- nightly beat runs `nps.tasks.rebuild_recent_rollups`: the last 30 days, a safety net
  for changes no history records;
- `manage.py rollups_rebuild [--from] [--to]` recomputes any span, e.g. after a bulk
  import or a change of the routing rules (the NPS/funnel team is the routed team).

A day is the local date in `settings.NPS_REPORTING_TIME_ZONE` of the response's
created_at (NPS, reasons), the interaction's occurred_at (funnel) and the case's
opened_at (cases). Running twice at once is safe: a day is recomputed under a per-day
lock on PostgreSQL (SQLite's IMMEDIATE transactions already serialise writers).
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import (
    Count,
    DateField,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from followups.models import Case, CaseStatus, RoutingRule, Team
from followups.routing import route
from nps.models import (
    CONTACT_BUCKETS,
    DIMENSION_FIELDS,
    NO_TEAM,
    CaseDaily,
    FunnelDaily,
    NpsDaily,
    ReasonDaily,
    TeamMap,
    attempt_bucket_field,
    bucket_field,
    suppressed_field,
)
from nps.reporting.grains import BUILD_ORDER, FULL, fields_of, parent_of
from surveys.models import Category, Interaction, Purpose, Response, ResponseReason, SuppressReason

Router = Callable[[str, str, str], int]  # (region, tier, touchpoint) -> team id or NO_TEAM
LOCK_NAMESPACE = 7_310_001  # pg_advisory_xact_lock(namespace, day): one refresh per day
ROLLUPS: tuple[type[models.Model], ...] = (NpsDaily, ReasonDaily, FunnelDaily, CaseDaily)

# Dimension -> ORM path, per source. The team comes from TeamMap (routing) or from the case.
RESPONSE_DIMS = {
    "touchpoint": "interaction__touchpoint",
    "channel": "interaction__channel",
    "business_type": "interaction__business_type",
    "region": "customer__region",
    "tier": "customer__tier",
    "agent": "interaction__staff_id",
}
REASON_DIMS = {name: f"response__{path}" for name, path in RESPONSE_DIMS.items()}
INTERACTION_DIMS = {
    "touchpoint": "touchpoint",
    "channel": "channel",
    "business_type": "business_type",
    "region": "customer__region",
    "tier": "customer__tier",
    "agent": "staff_id",
}
CASE_DIMS = {
    **{name: f"response__{path}" for name, path in RESPONSE_DIMS.items()},
    "region": "customer__region",
    "tier": "customer__tier",
    "team_id": "team_id",
}


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)


def day_bounds(start: date, end: date | None = None) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) as aware datetimes."""
    zone = reporting_zone()
    end = start if end is None else end
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def local_today() -> date:
    return timezone.localtime(timezone.now(), reporting_zone()).date()


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
    """Routing's team for every (region, tier, touchpoint) met in the day's interactions.

    Only missing or changed keys are written: an upsert of an unchanged row would still
    lock it to the end of the day's transaction, and days rebuilt in parallel would then
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


def _routed_team(paths: dict[str, str]) -> Coalesce:
    mapped = TeamMap.objects.filter(
        region=OuterRef(paths["region"]),
        tier=OuterRef(paths["tier"]),
        touchpoint=OuterRef(paths["touchpoint"]),
    ).values("team_id")[:1]
    return Coalesce(Subquery(mapped), Value(NO_TEAM), output_field=IntegerField())


def _dimensions(paths: dict[str, str]) -> dict[str, Any]:
    """The finest grain's dimension columns as expressions over the source rows."""
    found: dict[str, Any] = {}
    for name in DIMENSION_FIELDS:
        if name != "team_id":
            found[name] = Coalesce(F(paths[name]), Value(""), output_field=models.CharField())
        elif name in paths:  # the case's own team
            found[name] = Coalesce(F(paths[name]), Value(NO_TEAM), output_field=IntegerField())
        else:
            found[name] = _routed_team(paths)
    return found


def _insert_full(
    model: type[models.Model],
    rows: models.QuerySet[Any],
    *,
    day: date,
    paths: dict[str, str],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """INSERT INTO model's table the finest grain of `rows`: one GROUP BY, in the database."""
    # Aliased "col_<field>": an annotation may not take the name of a source field.
    dims = {**_dimensions(paths), **(extra or {})}
    constants = {
        "grain": Value(FULL, output_field=IntegerField()),
        "day": Value(day, output_field=DateField()),
    }
    grouped = (
        rows.order_by()
        .values(**{f"col_{name}": e for name, e in dims.items()})
        .annotate(**{f"col_{name}": e for name, e in metrics.items()})
        .annotate(**{f"col_{name}": e for name, e in constants.items()})
    )
    query = grouped.query
    if query.values_select:  # the column list below relies on annotations alone, in order
        raise AssertionError(f"unexpected plain columns {query.values_select}")
    columns = [name.removeprefix("col_") for name in query.annotation_select]
    sql, params = query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({names}) {sql}", params)


def _insert_coarser(model: type[models.Model], *, day: date, keep: tuple[str, ...] = ()) -> None:
    """Every coarser grain of the day, each summed from its parent grain's rows."""
    quote = connection.ops.quote_name
    table = model._meta.db_table
    counts = [
        quote(f.column)
        for f in model._meta.concrete_fields
        if isinstance(f, models.PositiveIntegerField)
    ]
    dims = (*DIMENSION_FIELDS, *keep)
    names = [quote(model._meta.get_field(name).column) for name in dims]
    target = ", ".join(["grain", "day", *names, *counts])
    sums = ", ".join(f"SUM({c})" for c in counts)
    for grain in BUILD_ORDER:
        if grain == FULL:
            continue
        kept = set(fields_of(grain)) | set(keep)
        selected = [
            column if name in kept else (str(NO_TEAM) if name == "team_id" else "''")
            for name, column in zip(dims, names, strict=True)
        ]
        grouped = [column for name, column in zip(dims, names, strict=True) if name in kept]
        # Without a GROUP BY, SUM over no rows is still one row (of NULLs): HAVING drops it.
        group = f" GROUP BY {', '.join(grouped)}" if grouped else " HAVING COUNT(*) > 0"
        sql = (
            f"INSERT INTO {table} ({target}) "  # noqa: S608 (names from the model; values bound)
            f"SELECT %s, %s, {', '.join(selected)}, {sums} FROM {table} "
            f"WHERE grain = %s AND day = %s{group}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [grain, day, parent_of(grain), day])


def _nps(day: date, lo: datetime, hi: datetime) -> None:
    responses = Response.objects.filter(
        created_at__gte=lo, created_at__lt=hi, invitation__purpose=Purpose.SURVEY
    )
    metrics = {
        "promoters": Count("pk", filter=Q(category=Category.PROMOTER)),
        "passives": Count("pk", filter=Q(category=Category.PASSIVE)),
        "detractors": Count("pk", filter=Q(category=Category.DETRACTOR)),
    }
    _insert_full(NpsDaily, responses, day=day, paths=RESPONSE_DIMS, metrics=metrics)
    _insert_coarser(NpsDaily, day=day)


def _reasons(day: date, lo: datetime, hi: datetime) -> None:
    links = ResponseReason.objects.filter(
        response__created_at__gte=lo,
        response__created_at__lt=hi,
        response__category=Category.DETRACTOR,
        response__invitation__purpose=Purpose.SURVEY,
    )
    _insert_full(
        ReasonDaily,
        links,
        day=day,
        paths=REASON_DIMS,
        metrics={"detractors": Count("pk")},
        extra={"reason": F("category_id")},
    )
    _insert_coarser(ReasonDaily, day=day, keep=("reason",))


def _funnel(day: date, lo: datetime, hi: datetime) -> None:
    # At most one survey invitation per interaction (unique), so the joins never multiply.
    interactions = Interaction.objects.annotate(
        survey=FilteredRelation("invitations", condition=Q(invitations__purpose=Purpose.SURVEY))
    ).filter(occurred_at__gte=lo, occurred_at__lt=hi)
    metrics = {
        "interactions": Count("pk"),
        "sent": Count("survey__sent_at"),
        "delivered": Count("survey__delivered_at"),
        "responded": Count("survey__response__id"),
        **{
            suppressed_field(code): Count("pk", filter=Q(survey__suppressed_reason=code))
            for code in SuppressReason.values
        },
    }
    _insert_full(FunnelDaily, interactions, day=day, paths=INTERACTION_DIMS, metrics=metrics)
    _insert_coarser(FunnelDaily, day=day)


def _contact_bucket(index: int, *, field: str = "first_contact_at") -> Q:
    """Cases whose `field` (first contact, or first attempt) falls within bucket `index` of
    CONTACT_BUCKETS (minutes after opening)."""
    within = Q(**{f"{field}__isnull": False})
    if index > 0:  # the first bucket also takes any time stamped before the opening
        lower = timedelta(minutes=CONTACT_BUCKETS[index])
        within &= Q(**{f"{field}__gte": F("opened_at") + lower})
    if index + 1 < len(CONTACT_BUCKETS):
        upper = timedelta(minutes=CONTACT_BUCKETS[index + 1])
        within &= Q(**{f"{field}__lt": F("opened_at") + upper})
    return within


# Unreachable, also once closed: a case is closed only from resolved or unreachable (or by
# a score correction), so a closed case never resolved and not corrected was unreachable.
UNREACHABLE = Q(status=CaseStatus.UNREACHABLE) | Q(
    status=CaseStatus.CLOSED, resolved_at__isnull=True, closed_by_correction=False
)


def _cases(day: date, lo: datetime, hi: datetime) -> None:
    cases = Case.objects.filter(opened_at__gte=lo, opened_at__lt=hi)
    metrics = {
        "opened": Count("pk"),
        "first_attempted": Count("first_attempt_at"),
        "first_contacted": Count("first_contact_at"),
        "first_contact_in_sla": Count("pk", filter=Q(first_contact_at__lte=F("sla_due_at"))),
        "resolved": Count("resolved_at"),
        "unreachable": Count("pk", filter=UNREACHABLE),
        "verified": Count("verification_score"),
        "recovered": Count("pk", filter=Q(recovered=True)),
        **{
            bucket_field(lower): Count("pk", filter=_contact_bucket(i))
            for i, lower in enumerate(CONTACT_BUCKETS)
        },
        **{
            attempt_bucket_field(lower): Count(
                "pk", filter=_contact_bucket(i, field="first_attempt_at")
            )
            for i, lower in enumerate(CONTACT_BUCKETS)
        },
    }
    _insert_full(CaseDaily, cases, day=day, paths=CASE_DIMS, metrics=metrics)
    _insert_coarser(CaseDaily, day=day)


def _day_lock(day: date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # JIT compiling these wide GROUP BYs costs more than running them (~1.5 s a day),
            # and a day's finest grain sorts tens of thousands of rows: keep that in memory.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, day.toordinal()]
            )


def rollups_refresh_day(*, day: date, team: Router | None = None) -> None:
    """Recompute every rollup table for one local day from the raw rows (idempotent)."""
    team = team or team_router()
    lo, hi = day_bounds(day)
    with transaction.atomic():
        _day_lock(day)  # a concurrent refresh of the same day waits, then sees our rows
        _team_map_update(lo, hi, team)
        for model in ROLLUPS:
            model._default_manager.filter(day=day).delete()
        _nps(day, lo, hi)
        _reasons(day, lo, hi)
        _funnel(day, lo, hi)
        _cases(day, lo, hi)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


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
