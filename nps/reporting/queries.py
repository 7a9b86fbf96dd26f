"""Every figure supervisors read (dashboard, exports, digest): filters in, contract out.

Every aggregate is one query over one rollup table, honouring every filter and the team
scope, on the coarsest grain that holds the dimensions it filters and groups by
(nps.reporting.grains); only the live case counts (`closed_loop`, `open_cases_by_team`,
`overdue_cases`) read cases and only `detractor_answers` reads raw responses (for the
digest's list); the verbatims are found in the narrow table DetractorComment. Days are
local dates in settings.NPS_REPORTING_TIME_ZONE.
The team of NPS, funnel and reason rows is the team routing picks for the customer's region
and tier and the touchpoint; the team of case rows is the case's own team.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    CharField,
    Count,
    Exists,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone

from followups.models import OPEN_STATUSES, Case
from followups.queries import unrouted
from followups.sla import due_at, overdue
from nps.models import (
    CONTACT_BUCKETS,
    COST_UNITS,
    DIMENSION_FIELDS,
    INT_DIMENSIONS,
    NO_TEAM,
    CaseDaily,
    DetractorComment,
    FunnelDaily,
    NpsDaily,
    ReasonDaily,
    SendDaily,
    TeamMap,
    attempt_bucket_field,
    bucket_field,
    suppressed_field,
)
from nps.reporting.contract import (
    DIMENSIONS,
    ClosedLoop,
    Counts,
    Filters,
    Funnel,
    ReasonCount,
    SendCosts,
    TeamCases,
)
from nps.reporting.days import day_bounds, days_between
from nps.reporting.grains import fields_of, grain_for
from nps.reporting.rollup_tables import CASE_DIMS, RESPONSE_DIMS
from surveys.models import Category, Purpose, Response, ResponseReason, SuppressReason
from surveys.units import units_below

TEXT_FILTERS = ("touchpoint", "channel", "business_type", "region", "tier", "agent")
COUNT_SUMS = {
    "sum_promoters": Sum("promoters"),
    "sum_passives": Sum("passives"),
    "sum_detractors": Sum("detractors"),
}
FUNNEL_FIELDS = (
    "interactions",
    "sent",
    "delivered",
    "responded",
    *(suppressed_field(code) for code in SuppressReason.values),
)
CASE_FIELDS = (
    "opened",
    "first_attempted",
    "first_contacted",
    "first_contact_in_sla",
    "resolved",
    "unreachable",
    "verified",
    "recovered",
    *(bucket_field(lower) for lower in CONTACT_BUCKETS),
    *(attempt_bucket_field(lower) for lower in CONTACT_BUCKETS),
)


def _scope_q(team_scope: tuple[int, ...] | None, field: str = "team_id") -> Q:
    """A team lead's teams only, whatever else is asked; None: everything (a supervisor)."""
    return Q() if team_scope is None else Q(**{f"{field}__in": team_scope})


def _team_q(f: Filters, field: str = "team_id") -> Q:
    q = _scope_q(f.team_scope, field)
    if f.team_id is not None:
        q &= Q(**{field: f.team_id})
    return q


def unit_filter(unit_id: int | None) -> tuple[int, ...] | None:
    """Filters.units for "this unit": it and everything below it (None: no unit filter)."""
    return None if unit_id is None else tuple(sorted(units_below(unit_id)))


LISTED_DAYS_MOST = 400  # a longer period is read as a range (one bound parameter a day)


def rollup_filter(f: Filters, *, days_listed: bool = False) -> Q:
    """The rows of a rollup table that the filters (and the team scope) select; the period
    as a range of days, or with `days_listed` as the list of its days (see rollup_rows)
    when it has at most LISTED_DAYS_MOST."""
    if days_listed and (f.end - f.start).days < LISTED_DAYS_MOST:
        q = Q(day__in=days_between(f.start, f.end)) & _team_q(f)
    else:
        q = Q(day__gte=f.start, day__lte=f.end) & _team_q(f)
    for name in TEXT_FILTERS:
        if value := getattr(f, name):
            q &= Q(**{name: value})
    if f.units is not None:
        q &= Q(unit_id__in=f.units)
    return q


def needed_dimensions(f: Filters, *group: str) -> frozenset[str]:
    """The rollup dimensions a read filters or groups on (the team scope counts)."""
    needed = {name for name in TEXT_FILTERS if getattr(f, name)} | set(group)
    if f.team_id is not None or f.team_scope is not None:
        needed.add("team_id")
    if f.units is not None:
        needed.add("unit_id")
    return frozenset(needed)


def rollup_rows(model: type[Model], f: Filters, *group: str) -> QuerySet[Any]:
    """The rows of the cheapest grain of `model` that answers f grouped by `group`.

    Written so that PostgreSQL seeks them in the table's key index (grain, day, then the
    dimensions in DIMENSION_FIELDS order) rather than reading the grain's every row of the
    period: the days are listed (a range of days would be one scan from the first to the
    last, whatever the later columns say) and the dimensions the grain does not keep are
    stated as it stores them ("" or 0), so each day is one descent to the first dimension
    neither filtered nor constant. E.g. touchpoint, channel and business type on the
    finest grain: the matching rows only, not every answer of the period.
    """
    grain = grain_for(needed_dimensions(f, *group))
    kept = set(fields_of(grain))
    constant = {
        name: 0 if name in INT_DIMENSIONS else "" for name in DIMENSION_FIELDS if name not in kept
    }
    return model._default_manager.filter(
        rollup_filter(f, days_listed=True), grain=grain, **constant
    )


def _raw_filter(f: Filters, paths: dict[str, Any], when: str) -> Q:
    """The same filters over raw rows: `when` in the local date range, dims through `paths`."""
    lo, hi = day_bounds(f.start, f.end)
    q = Q(**{f"{when}__gte": lo, f"{when}__lt": hi})
    for name in TEXT_FILTERS:
        if value := getattr(f, name):
            q &= Q(**{paths[name]: value})
    if f.units is not None:
        q &= _raw_unit_q(f.units, paths["unit_id"])
    return q


def _raw_unit_q(units: tuple[int, ...], path: str | tuple[str, str]) -> Q:
    """The rollups' unit over raw rows: a case's own unit, else its interaction's (CASE_DIMS)."""
    if isinstance(path, str):
        return Q(**{f"{path}__in": units})
    own, served = path
    return Q(**{f"{own}__in": units}) | Q(**{f"{own}__isnull": True, f"{served}__in": units})


def counts_of(row: dict[str, Any]) -> Counts:
    return Counts(
        promoters=row["sum_promoters"] or 0,
        passives=row["sum_passives"] or 0,
        detractors=row["sum_detractors"] or 0,
    )


def nps_counts(f: Filters) -> Counts:
    """Promoters, passives and detractors in the period (one query)."""
    return counts_of(rollup_rows(NpsDaily, f).aggregate(**COUNT_SUMS))


def nps_trend(f: Filters, *, granularity: str) -> list[tuple[date, Counts]]:
    """Counts per day, or per week labelled by its Monday, oldest first; empty periods left out."""
    if granularity not in ("day", "week"):
        raise ValueError(f"granularity must be 'day' or 'week', not {granularity!r}")
    period = F("day") if granularity == "day" else TruncWeek("day")
    rows = rollup_rows(NpsDaily, f).values(period=period).annotate(**COUNT_SUMS).order_by("period")
    return [(row["period"], counts_of(row)) for row in rows]


def nps_breakdown(f: Filters, *, dimension: str) -> list[tuple[str, Counts]]:
    """Counts per value of one dimension, most responses first (team: its id as text, "" none)."""
    return nps_breakdowns(f, dimensions=(dimension,))[dimension]


def nps_breakdowns(
    f: Filters, *, dimensions: tuple[str, ...] = DIMENSIONS
) -> dict[str, list[tuple[str, Counts]]]:
    """`nps_breakdown` of each dimension, all in one query (a UNION ALL of one GROUP BY per
    dimension, each on its own grain)."""
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown dimension {sorted(unknown)!r}")
    parts = []
    for dimension in dimensions:
        field = "team_id" if dimension == "team" else dimension
        parts.append(
            rollup_rows(NpsDaily, f, field)
            .values(dimension_name=Value(dimension), dimension_value=Cast(field, CharField()))
            .annotate(**COUNT_SUMS)
            .order_by()
        )
    found: dict[str, list[tuple[str, Counts]]] = {d: [] for d in dimensions}
    for row in union_all(parts):
        dimension, value = row["dimension_name"], row["dimension_value"]
        if dimension == "team" and value == str(NO_TEAM):
            value = ""
        found[dimension].append((value, counts_of(row)))
    return {d: sorted(rows, key=lambda item: (-item[1].n, item[0])) for d, rows in found.items()}


def union_all(parts: list[QuerySet[Any]]) -> QuerySet[Any]:
    """The rows of every part (each a .values() query of the same columns), one query."""
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def _sums(model: type[FunnelDaily] | type[CaseDaily], f: Filters, fields: tuple[str, ...]) -> Any:
    row = rollup_rows(model, f).aggregate(**{n: Sum(n) for n in fields})
    return {name: value or 0 for name, value in row.items()}


def funnel(f: Filters) -> Funnel:
    """Interactions in the period and how far their surveys got; suppressed by reason (1 query)."""
    sums = _sums(FunnelDaily, f, FUNNEL_FIELDS)
    suppressed = {code: sums[suppressed_field(code)] for code in SuppressReason.values}
    return Funnel(
        interactions=sums["interactions"],
        sent=sums["sent"],
        delivered=sums["delivered"],
        responded=sums["responded"],
        suppressed=dict(sorted(((c, n) for c, n in suppressed.items() if n), key=lambda i: -i[1])),
    )


def send_costs(
    f: Filters, *, answers: int | None = None, recovered: int | None = None
) -> SendCosts:
    """The SMS sent about the period's interactions, their segments and cost by currency, and
    the answers and recovered detractors they bought (3 queries: sends, funnel, cases; the
    funnel's and the cases' left out when the caller gives `answers` and `recovered`)."""
    rows = (
        rollup_rows(SendDaily, f)
        .values("currency")
        .annotate(sms=Sum("sms"), priced=Sum("priced"), segments=Sum("segments"), cost=Sum("cost"))
        .order_by("currency")
    )
    sms = priced = segments = 0
    cost: dict[str, Decimal] = {}
    for row in rows:
        sms, priced, segments = sms + row["sms"], priced + row["priced"], segments + row["segments"]
        if row["priced"]:
            cost[row["currency"]] = Decimal(row["cost"]) / COST_UNITS
    return SendCosts(
        sms=sms,
        unpriced=sms - priced,
        segments=segments,
        cost=cost,
        answers=_sums(FunnelDaily, f, ("responded",))["responded"] if answers is None else answers,
        recovered=(
            _sums(CaseDaily, f, ("recovered",))["recovered"] if recovered is None else recovered
        ),
    )


def histogram_percentile(counts: list[int], share: float) -> float | None:
    """The `share` quantile of minutes from bucket counts over CONTACT_BUCKETS.

    An approximation: values are taken as spread evenly inside their bucket (linear
    interpolation), so the error is at most the bucket's width; a quantile falling in
    the open last bucket is reported as its lower bound (2880 minutes, "two days or more").
    """
    total = sum(counts)
    if not total:
        return None
    rank, below = share * total, 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            lower = CONTACT_BUCKETS[index]
            if index + 1 == len(CONTACT_BUCKETS):
                return float(lower)
            width = CONTACT_BUCKETS[index + 1] - lower
            return lower + width * (rank - below) / count
        below += count
    return float(CONTACT_BUCKETS[-1])


def _backlog() -> dict[str, Count]:
    """Open now and overdue now, the counts the dashboard and the digest share."""
    return {
        "open": Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        "overdue": Count("pk", filter=overdue(timezone.now())),
    }


def _live_case_counts(f: Filters) -> dict[str, Any]:
    """Open, overdue, unrouted and on hold now, the holds, and those still awaiting first
    contact before it is due, among the cases opened in the period: one query."""
    held = Q(hold_count__gt=0)
    # Every count below is of open cases or of cases once held: only those rows are read
    # (and joined to their response and interaction for the filters), not the period's all.
    cases = Case.objects.filter(
        _raw_filter(f, CASE_DIMS, "opened_at"), _team_q(f), Q(status__in=OPEN_STATUSES) | held
    )
    now = timezone.now()
    # Not reached and not overdue (sla.overdue): its first contact is not yet due, or its
    # clocks are stopped by a hold. Whether it will be in SLA is not known yet.
    not_yet_due = Q(status__in=OPEN_STATUSES, first_contact_at__isnull=True) & ~overdue(now)
    return cases.aggregate(
        **_backlog(),
        first_contact_not_yet_due=Count("pk", filter=not_yet_due),
        unrouted=Count("pk", filter=unrouted()),
        put_on_hold=Count("pk", filter=held),
        on_hold_now=Count("pk", filter=Q(held_since__isnull=False, status__in=OPEN_STATUSES)),
        mean_on_hold=Avg("hold_total", filter=held),
    )


def closed_loop(f: Filters) -> ClosedLoop:
    """Cases opened in the period and what became of them (2 queries: rollup, live open,
    overdue and unrouted counts). First contact is the customer reached; an attempt is any try."""
    sums = _sums(CaseDaily, f, CASE_FIELDS)
    reached = [sums[bucket_field(lower)] for lower in CONTACT_BUCKETS]
    tried = [sums[attempt_bucket_field(lower)] for lower in CONTACT_BUCKETS]
    live = _live_case_counts(f)
    return ClosedLoop(
        opened=sums["opened"],
        first_attempted=sums["first_attempted"],
        first_contacted=sums["first_contacted"],
        first_contact_in_sla=sums["first_contact_in_sla"],
        first_contact_due=sums["opened"] - live["first_contact_not_yet_due"],
        median_minutes_to_first_attempt=histogram_percentile(tried, 0.5),
        p90_minutes_to_first_attempt=histogram_percentile(tried, 0.9),
        median_minutes_to_first_contact=histogram_percentile(reached, 0.5),
        p90_minutes_to_first_contact=histogram_percentile(reached, 0.9),
        resolved=sums["resolved"],
        unreachable=sums["unreachable"],
        open_now=live["open"],
        overdue_now=live["overdue"],
        unrouted_now=live["unrouted"],
        put_on_hold=live["put_on_hold"],
        mean_minutes_on_hold=(
            live["mean_on_hold"].total_seconds() / 60 if live["mean_on_hold"] else None
        ),
        on_hold_now=live["on_hold_now"],
        verified=sums["verified"],
        recovered=sums["recovered"],
    )


def reasons_pareto(f: Filters) -> list[ReasonCount]:
    """Detractor reason categories, most frequent first (1 query)."""
    rows = (
        rollup_rows(ReasonDaily, f)
        .values("reason__code", "reason__name_en", "reason__name_zh")
        .annotate(total=Sum("detractors"))
        .filter(total__gt=0)  # a reason only promoters or passives mentioned
        .order_by("-total", "reason__code")
    )
    return [
        ReasonCount(
            code=row["reason__code"],
            name_en=row["reason__name_en"],
            name_zh=row["reason__name_zh"],
            detractors=row["total"],
        )
        for row in rows
    ]


def open_cases_by_team(*, team_scope: tuple[int, ...] | None) -> list[TeamCases]:
    """Every open case in the scope now and the overdue among them, by team, whenever it
    opened (1 query); the team None holds the cases no team has taken yet."""
    cases = Case.objects.filter(_scope_q(team_scope))
    rows = cases.filter(status__in=OPEN_STATUSES).values("team_id").annotate(**_backlog())
    return [TeamCases(row["team_id"], row["open"], row["overdue"]) for row in rows.order_by()]


def overdue_cases(*, team_scope: tuple[int, ...] | None) -> QuerySet[Case]:
    """The cases in the scope overdue now, most overdue first, with their `due_at`."""
    return (
        Case.objects.filter(_scope_q(team_scope), overdue(timezone.now()))
        .annotate(due_at=due_at())
        .select_related("team")
        .order_by("due_at", "pk")
    )


def detractor_answers(f: Filters) -> QuerySet[Response]:
    """The period's survey detractors that match the filters: the raw rows the NPS rollup
    counts as detractors. The team filter and scope use routing's team for the response,
    as the rollups do: the (region, tier, touchpoint) keys routed to those teams (TeamMap)."""
    responses = Response.objects.filter(
        _raw_filter(f, RESPONSE_DIMS, "created_at"),
        category=Category.DETRACTOR,
        invitation__purpose=Purpose.SURVEY,
    )
    if f.team_id is not None or f.team_scope is not None:
        routed = TeamMap.objects.filter(
            _team_q(f),
            region=OuterRef("customer__region"),
            tier=OuterRef("customer__tier"),
            touchpoint=OuterRef("interaction__touchpoint"),
        )
        responses = responses.filter(Exists(routed))
    return responses


def verbatims(f: Filters, *, reason: str = "", limit: int = 50) -> list[Response]:
    """The latest detractor comments (2 queries: the responses, their reasons).

    The matching responses are found in the narrow table kept with the rollups
    (DetractorComment), newest first straight off one of its indexes; the responses
    themselves (their comment as it is now) are then read by primary key. A detractor
    without a comment has no verbatim and is left out.
    """
    comments = DetractorComment.objects.filter(rollup_filter(f))
    if reason:
        coded = ResponseReason.objects.filter(
            response_id=OuterRef("response_id"), category__code=reason
        )
        comments = comments.filter(Exists(coded))
    latest = comments.order_by("-day", "-created_at", "-response_id").values("response_id")
    return list(
        Response.objects.filter(pk__in=latest[:limit])
        .select_related("customer", "interaction", "case")
        .prefetch_related("reasons")
        .order_by("-created_at", "-pk")
    )
