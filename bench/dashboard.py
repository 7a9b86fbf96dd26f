"""Dashboard benchmark: every widget from the rollup tables against the same figures from raw rows.

Loads N synthetic responses (default 10 million, bench/dashboard_data.py) into its own
PostgreSQL database, builds the rollups with rollups_rebuild(), then times in the same run:

- rollup: the whole dashboard through nps.reporting.queries (headline counts for the
  period and the previous one, trend, the 7 breakdowns, funnel, closed loop, reasons,
  verbatims) for five filter sets (everything; a region and tier; one agent; a touchpoint,
  channel and business type matching nothing; and one matching little), and a GET of
  /dashboard/ as a supervisor with the same filters (rendering and chart data included);
- naive: the same figures with GROUP BY over the raw tables for the same filters.

It checks both give the same answers, prints p50/p95/max, the ratios naive/rollup and
naive/page per filter set, and whether the targets hold for the page (p95 <= 200 ms,
ratio >= 50); --profile adds each page's query count, GETs with the cache emptied, the
template's rendering alone and a profile of one GET.

    .venv/bin/python bench/dashboard.py [--responses 10000000] [--reload] [--repeat 30]
        [--skip-rebuild] [--profile] [--sets 0 2]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/nps_dash_bench; its name must
contain "bench" (the loaded tables are truncated).
"""

# SQL text here is built from this module's constants only; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from nps.reporting.contract import ClosedLoop, Filters, Funnel, ReasonCount

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS, TARGET_RATIO = 200.0, 50.0


def say(line: str) -> None:
    print(line, flush=True)


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_dash_bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


# ---------------------------------------------------------------- the two dashboards


def _previous(f: Filters) -> Filters:
    """The period of the same length just before f's."""
    days = (f.end - f.start).days + 1
    return replace(f, start=f.start - timedelta(days=days), end=f.start - timedelta(days=1))


def dashboard_rollup(f: Filters) -> dict[str, Any]:
    """Every widget of the dashboard, through nps.reporting.queries (the rollup tables)."""
    from nps.reporting import queries
    from nps.reporting.contract import DIMENSIONS

    return {
        "counts": queries.nps_counts(f),
        "counts previous": queries.nps_counts(_previous(f)),
        "trend": queries.nps_trend(f, granularity="day"),
        **{f"by {d}": queries.nps_breakdown(f, dimension=d) for d in DIMENSIONS},
        "funnel": queries.funnel(f),
        "closed loop": queries.closed_loop(f),
        "reasons": queries.reasons_pareto(f),
        "verbatims": queries.verbatims(f, limit=_verbatims_shown()),
    }


def _verbatims_shown() -> int:
    """As many latest comments as the page shows (NPS_DASHBOARD_VERBATIMS)."""
    from django.conf import settings

    return settings.NPS_DASHBOARD_VERBATIMS


def _local_bounds(f: Filters) -> tuple[datetime, datetime]:
    """[start, end + 1 day) of the reporting time zone, as aware datetimes."""
    zone = ZoneInfo(_reporting_zone())
    start = datetime.combine(f.start, datetime.min.time(), zone)
    return start, datetime.combine(f.end + timedelta(days=1), datetime.min.time(), zone)


def _reporting_zone() -> str:
    from django.conf import settings

    return getattr(settings, "NPS_REPORTING_TIME_ZONE", settings.NPS_DEFAULT_TIME_ZONE)


NAIVE_DIMENSIONS = {
    "touchpoint": "i.touchpoint",
    "channel": "i.channel",
    "business_type": "i.business_type",
    "region": "c.region",
    "tier": "c.tier",
    "team": "t.id",
    "agent": "i.staff_id",
}
COUNTS = """count(*) FILTER (WHERE r.category = 'promoter'),
    count(*) FILTER (WHERE r.category = 'passive'),
    count(*) FILTER (WHERE r.category = 'detractor')"""


def _naive_where(f: Filters, when: str, customer: str = "c") -> tuple[str, list[Any]]:
    start, end = _local_bounds(f)
    where, params = [f"{when} >= %s", f"{when} < %s"], [start, end]
    for name, column in (("touchpoint", "i.touchpoint"), ("channel", "i.channel"),
                         ("business_type", "i.business_type"), ("region", f"{customer}.region"),
                         ("tier", f"{customer}.tier"), ("agent", "i.staff_id")):  # fmt: skip
        if value := getattr(f, name):
            where.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(where), params


def _naive_rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# Survey answers only: a verification survey's answer is not an NPS answer.
RESPONSES = """surveys_response r JOIN surveys_interaction i ON i.id = r.interaction_id
    JOIN surveys_customer c ON c.id = r.customer_id
    JOIN surveys_invitation inv ON inv.id = r.invitation_id AND inv.purpose = 'survey'"""


def dashboard_naive(f: Filters) -> dict[str, Any]:
    """The same figures with GROUP BY over the raw rows."""
    from nps.reporting.contract import Counts

    where, params = _naive_where(f, "r.created_at")
    before, before_params = _naive_where(_previous(f), "r.created_at")
    zone = _reporting_zone()
    result: dict[str, Any] = {
        "counts": Counts(
            *_naive_rows(f"SELECT {COUNTS} FROM {RESPONSES} WHERE {where}", params)[0]
        ),
        "counts previous": Counts(
            *_naive_rows(f"SELECT {COUNTS} FROM {RESPONSES} WHERE {before}", before_params)[0]
        ),
    }
    trend = _naive_rows(
        f"SELECT (r.created_at AT TIME ZONE %s)::date AS day, {COUNTS} FROM {RESPONSES} "
        f"WHERE {where} GROUP BY day ORDER BY day",
        [zone, *params],
    )
    result["trend"] = [(day, Counts(*c)) for day, *c in trend]
    for name, column in NAIVE_DIMENSIONS.items():
        # A response's team: the team whose coverage names the customer's region.
        team = " LEFT JOIN followups_team t ON t.regions ? c.region" if name == "team" else ""
        rows = _naive_rows(
            f"SELECT {column}, {COUNTS} FROM {RESPONSES}{team} WHERE {where} GROUP BY 1", params
        )
        found = [(str(value or ""), Counts(*c)) for value, *c in rows]
        result[f"by {name}"] = sorted(found, key=lambda item: (-item[1].n, item[0]))
    result["funnel"] = _naive_funnel(f)
    result["reasons"] = _naive_reasons(where, params)
    result["closed loop"] = _naive_closed_loop(f)
    result["verbatims"] = _naive_rows(
        f"SELECT r.id, r.score, r.comment, r.created_at FROM {RESPONSES} "
        f"WHERE r.category = 'detractor' AND r.comment <> '' AND {where} "
        "ORDER BY r.created_at DESC, r.id DESC LIMIT %s",
        [*params, _verbatims_shown()],
    )
    return result


def _naive_closed_loop(f: Filters) -> ClosedLoop:
    """Cases opened in the period (the rollup's definitions), measured from their rows.

    Percentiles are exact here; the rollup interpolates in its histogram buckets, so
    figures_compare accepts any value inside the same bucket.
    """
    from nps.reporting.contract import ClosedLoop

    where, params = _naive_where(f, "k.opened_at", customer="kc")
    minutes = "extract(epoch FROM k.first_contact_at - k.opened_at) / 60"
    tried = "extract(epoch FROM k.first_attempt_at - k.opened_at) / 60"
    open_ = "k.status IN ('new', 'assigned', 'in_progress')"
    # followups.sla.overdue: open, not on hold, past the clock that runs.
    overdue = (
        f"{open_} AND k.held_since IS NULL AND ((k.first_contact_at IS NULL "
        "AND k.sla_due_at < now()) OR (k.first_contact_at IS NOT NULL "
        "AND k.resolution_due_at < now()))"
    )
    not_yet_due = f"{open_} AND k.first_contact_at IS NULL AND NOT ({overdue})"
    columns = {
        "opened": "count(*)",
        "first_attempted": "count(k.first_attempt_at)",
        "first_contacted": "count(k.first_contact_at)",
        "first_contact_in_sla": "count(*) FILTER (WHERE k.first_contact_at <= k.sla_due_at)",
        "first_contact_due": f"count(*) - count(*) FILTER (WHERE {not_yet_due})",
        "median_minutes_to_first_attempt": f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {tried})",
        "p90_minutes_to_first_attempt": f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {tried})",
        "median_minutes_to_first_contact": (
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {minutes})"
        ),
        "p90_minutes_to_first_contact": f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {minutes})",
        "resolved": "count(k.resolved_at)",
        "unreachable": "count(*) FILTER (WHERE k.status = 'unreachable' OR (k.status = 'closed' "
        "AND k.resolved_at IS NULL AND NOT k.closed_by_correction))",
        "open_now": f"count(*) FILTER (WHERE {open_})",
        "overdue_now": f"count(*) FILTER (WHERE {overdue})",
        "unrouted_now": "count(*) FILTER (WHERE k.status = 'new' AND k.team_id IS NULL)",
        "put_on_hold": "count(*) FILTER (WHERE k.hold_count > 0)",
        "mean_minutes_on_hold": (
            "avg(extract(epoch FROM k.hold_total) / 60) FILTER (WHERE k.hold_count > 0)"
        ),
        "on_hold_now": f"count(*) FILTER (WHERE k.held_since IS NOT NULL AND {open_})",
        "verified": "count(k.verification_score)",
        "recovered": "count(*) FILTER (WHERE k.recovered)",
    }
    row = _naive_rows(
        f"SELECT {', '.join(columns.values())} "
        "FROM followups_case k JOIN surveys_customer kc ON kc.id = k.customer_id "
        "JOIN surveys_response r ON r.id = k.response_id "
        f"JOIN surveys_interaction i ON i.id = r.interaction_id WHERE {where}",
        params,
    )[0]
    return ClosedLoop(**dict(zip(columns, row, strict=True)))


def _naive_funnel(f: Filters) -> Funnel:
    from nps.reporting.contract import Funnel

    where, params = _naive_where(f, "i.occurred_at")
    rows = _naive_rows(
        "SELECT v.suppressed_reason, count(*), count(v.sent_at), count(v.delivered_at), "
        "count(*) FILTER (WHERE v.status = 'responded') "
        "FROM surveys_interaction i JOIN surveys_customer c ON c.id = i.customer_id "
        "LEFT JOIN surveys_invitation v ON v.interaction_id = i.id AND v.purpose = 'survey' "
        f"WHERE {where} GROUP BY 1",
        params,
    )
    return Funnel(
        interactions=sum(r[1] for r in rows),
        sent=sum(r[2] for r in rows),
        delivered=sum(r[3] for r in rows),
        responded=sum(r[4] for r in rows),
        suppressed={r[0]: r[1] for r in rows if r[0]},
    )


def _naive_reasons(where: str, params: list[Any]) -> list[ReasonCount]:
    from nps.reporting.contract import ReasonCount

    rows = _naive_rows(
        "SELECT k.code, k.name_en, k.name_zh, count(*) FROM surveys_responsereason rr "
        f"JOIN surveys_reasoncategory k ON k.id = rr.category_id JOIN {RESPONSES} "
        f"ON r.id = rr.response_id WHERE r.category = 'detractor' AND {where} "
        "GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1",
        params,
    )
    return [ReasonCount(*row) for row in rows]


def figures_compare(
    rolled: dict[str, Any], naive: dict[str, Any], say: Callable[[str], None]
) -> list[str]:
    """The widgets both computed must agree; returns what differs."""
    problems = []
    for key, value in naive.items():
        same = _same(key, rolled[key], value)
        say(f"    {key:18} {'same' if same else 'DIFFERENT'}")
        if not same:
            problems.append(f"{key}: rollup {rolled[key]!r} != naive {value!r}")
    return problems


def _bucket(minutes: float | None) -> int | None:
    from nps.models import CONTACT_BUCKETS

    if minutes is None:
        return None
    return max(i for i, lower in enumerate(CONTACT_BUCKETS) if minutes >= lower or i == 0)


def _same(key: str, rolled: Any, naive: Any) -> bool:
    if key == "verbatims":
        return [r.pk for r in rolled] == [row[0] for row in naive]
    if key == "closed loop":
        exact = (
            "median_minutes_to_first_attempt",
            "p90_minutes_to_first_attempt",
            "median_minutes_to_first_contact",
            "p90_minutes_to_first_contact",
        )
        if any(_bucket(getattr(rolled, n)) != _bucket(getattr(naive, n)) for n in exact):
            return False
        return replace(rolled, **dict.fromkeys(exact)) == replace(naive, **dict.fromkeys(exact))
    return rolled == naive


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _timed(label: str, run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Milliseconds of each of `repeat` runs (after one untimed warm-up) and the last result."""
    result = run()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        runs.append((time.perf_counter() - started) * 1000)
    p50, p95 = _percentile(runs, 0.5), _percentile(runs, 0.95)
    say(f"  {label:44} n={repeat:3} p50 {p50:9.1f} ms  p95 {p95:9.1f} ms  max {max(runs):9.1f} ms")
    return runs, result


def _page_get(filters: Filters, repeat: int, *, profile: bool = False) -> list[float] | None:
    """GET /dashboard/ as a supervisor with Django's test client, if the page exists."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from followups.permissions import roles_ensure
    from followups.roles import SUPERVISORS

    try:
        url = reverse("dashboard")
    except NoReverseMatch:
        say("  /dashboard/ is not there yet: page not timed")
        return None
    call_command("collectstatic", interactive=False, verbosity=0)  # as deployed (manifest)
    roles_ensure()
    user, _created = User.objects.get_or_create(username="bench-supervisor", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    query = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    query |= {k: v for k in NAIVE_DIMENSIONS if k != "team" and (v := getattr(filters, k))}

    def get() -> int:
        answer = client.get(url, query)
        if answer.status_code != 200:
            sys.exit(f"GET {url} {query} answered {answer.status_code}")
        return len(answer.content)

    runs, size = _timed(f"GET {url} ({size_label(query)})", get, repeat)
    say(f"    page: {size:,} bytes")
    if profile:
        _page_cold(get, repeat=5)
        _page_render(url, query, user, repeat=10)
        _page_profile(get)
    return runs


def _page_render(url: str, query: dict[str, str], user: Any, *, repeat: int) -> None:
    """The page's template alone, rendered from a context built once (as the view builds
    it): the rendering's share of a GET."""
    from django.http import QueryDict
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from followups.roles import sees_units
    from nps.dashboard.figures import DEFAULT_SORT
    from nps.dashboard.forms import filter_form
    from nps.dashboard.views import page_context

    request = RequestFactory(SERVER_NAME="localhost").get(url, query)
    request.user = user
    form, period = filter_form(QueryDict(request.META["QUERY_STRING"]), team_scope=None)
    context = {
        "form": form,
        "scope": None,
        "sees_units": sees_units(user),
        **page_context(period, sort=DEFAULT_SORT, reason=""),
    }

    def render() -> str:
        # Fresh breakdown rows: each writes its figure and whisker once, when rendered.
        tables = [replace(t, rows=[replace(r) for r in t.rows]) for t in context["breakdowns"]]
        return render_to_string(
            "dashboard/page.html", {**context, "breakdowns": tables}, request=request
        )

    _timed("  its template alone (the context built once)", render, repeat)


def _page_cold(get: Callable[[], int], *, repeat: int) -> None:
    """GETs that find nothing in the cache: the first page after each rollup refresh reads
    the filter lists (nps.dashboard.forms.observed_values) from the rollups again."""
    from django.core.cache import cache

    def cold() -> int:
        cache.clear()
        return get()

    _timed("  the same, the cache emptied before each", cold, repeat)


def _page_profile(get: Callable[[], int]) -> None:
    """One more GET: its queries (count, time in the database) and where its time goes."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        get()
        total = (time.perf_counter() - started) * 1000
    in_database = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    say(f"    {len(captured)} queries, {in_database:.1f} ms of {total:.1f} ms in the database")
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]
    for q in slowest:
        say(f"      {float(q['time']) * 1000:7.1f} ms  {q['sql'][:150]}")
    profiler = cProfile.Profile()
    profiler.runcall(get)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    say("\n".join("      " + line for line in out.getvalue().splitlines()[6:40] if line.strip()))


def size_label(query: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in query.items() if k not in ("start", "end")) or "all"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--reload", action="store_true", help="load even if already loaded")
    parser.add_argument("--repeat", type=int, default=30, help="timed rollup dashboards")
    parser.add_argument("--naive-repeat", type=int, default=3, help="timed naive dashboards")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument(
        "--jobs", type=int, default=2, help="days rebuilt at once (rollups_rebuild jobs)"
    )
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="time the rollups as they are (built before)"
    )
    parser.add_argument("--profile", action="store_true", help="queries and profile of a GET")
    parser.add_argument("--days", type=int, default=90, help="the period: the last N days")
    parser.add_argument(
        "--sets", type=int, nargs="*", help="only these filter sets (0-based, in order)"
    )
    args = parser.parse_args()
    _django()
    from django.conf import settings

    from bench.dashboard_data import data_load, data_loaded
    from bench.database import database_ready

    database_ready(settings.DATABASES["default"])
    if args.reload or not data_loaded(args.responses):
        say(f"loading {args.responses:,} responses")
        timings = data_load(args.responses, say)
        say("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    else:
        say(f"already loaded: {args.responses:,} responses (--reload to load again)")
    if args.load_only:
        return 0
    return _measure(args)


def _measure(args: argparse.Namespace) -> int:
    from bench.dashboard_data import END_DAY
    from nps.reporting.contract import Filters

    rollups = _rollups_build(skip=args.skip_rebuild, jobs=args.jobs)
    start = END_DAY - timedelta(days=args.days - 1)
    last = f"last {args.days} days"
    filter_sets = {
        f"{last}, all": Filters(start=start, end=END_DAY),
        f"{last}, region GD, tier A": Filters(start=start, end=END_DAY, region="GD", tier="A"),
        # Selective: one of 2,000 agents (a few hundred answers in the period).
        f"{last}, agent E11000": Filters(start=start, end=END_DAY, agent="E11000"),
        # A hotline call is never at a counter: nothing matches.
        f"{last}, hotline, counter, roaming": Filters(
            start=start, end=END_DAY, touchpoint="hotline", channel="counter",
            business_type="roaming",
        ),
        # Account managers' visits about roaming: a few hundred answers, few detractors.
        f"{last}, account manager, visit, roaming": Filters(
            start=start, end=END_DAY, touchpoint="account_manager", channel="visit",
            business_type="roaming",
        ),
    }  # fmt: skip
    if args.sets:
        filter_sets = {k: v for i, (k, v) in enumerate(filter_sets.items()) if i in args.sets}
    problems: list[str] = []
    rollup_runs: list[float] = []
    page_runs: dict[str, list[float]] = {}
    ratios: dict[str, float] = {}
    page_ratios: dict[str, float] = {}
    for label, filters in filter_sets.items():
        say(f"\n{label} ({filters.start} .. {filters.end})")
        if rollups:
            runs, rolled = _timed(
                "rollup dashboard (nps.reporting.queries)",
                lambda f=filters: dashboard_rollup(f),
                args.repeat,
            )
            rollup_runs += runs
        naive_runs, naive = _timed(
            "naive dashboard (raw rows)", lambda f=filters: dashboard_naive(f), args.naive_repeat
        )
        if rollups:
            naive_p50 = _percentile(naive_runs, 0.5)
            ratios[label] = naive_p50 / _percentile(runs, 0.5)
            say(f"  ratio naive p50 / rollup p50 = {ratios[label]:,.0f}x")
            problems += [f"{label}: {p}" for p in figures_compare(rolled, naive, say)]
            page = _page_get(filters, args.repeat, profile=args.profile)
            if page:
                page_runs[label] = page
                page_ratios[label] = naive_p50 / _percentile(page, 0.5)
                say(f"  ratio naive p50 / page p50 = {page_ratios[label]:,.0f}x")
    if not rollups:
        return 2
    return _report(rollup_runs, page_runs, ratios, page_ratios, problems)


def _rollups_build(*, skip: bool = False, jobs: int = 1) -> bool:
    """Build the rollups (timed); False when the project has no rollups to build."""

    if skip:
        _vacuum_analyze()
        say("rollups as built before (--skip-rebuild)")
        return True

    try:
        from nps.reporting.rebuild import rollups_rebuild
    except ImportError as missing:
        say(f"no rollups in this project ({missing}): timing the naive side only")
        return False
    started = time.perf_counter()
    days = rollups_rebuild(jobs=jobs)
    say(f"rollups_rebuild(jobs={jobs}): {days} days, {time.perf_counter() - started:.1f} s")
    _vacuum_analyze()
    return True


def _vacuum_analyze() -> None:
    """What autovacuum does after a rebuild: statistics for the planner, and the visibility
    map that lets reads of the rollups be index-only scans."""
    from django.db import connection

    from nps.reporting.rollup_tables import ROLLUPS

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for model in ROLLUPS:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute("ANALYZE")
    say(f"VACUUM ANALYZE of the rollup tables: {time.perf_counter() - started:.1f} s")


def _report(
    rollup: list[float],
    pages: dict[str, list[float]],
    ratios: dict[str, float],
    page_ratios: dict[str, float],
    problems: list[str],
) -> int:
    p50, p95 = _percentile(rollup, 0.5), _percentile(rollup, 0.95)
    say("\nall filter sets together:")
    say(f"  rollup dashboard p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(rollup):.1f} ms")
    say(f"  lowest ratio naive/rollup = {min(ratios.values()):,.0f}x")
    page = [ms for runs in pages.values() for ms in runs]
    if not page:
        return 1
    say("  GET /dashboard/ per filter set:")
    for label, runs in pages.items():
        p50_page, p95_page = _percentile(runs, 0.5), _percentile(runs, 0.95)
        missed = (
            "" if p95_page <= TARGET_P95_MS and page_ratios[label] >= TARGET_RATIO else "  MISSED"
        )
        say(
            f"    {label:48} p50 {p50_page:6.1f} ms  p95 {p95_page:6.1f} ms  "
            f"naive/page {page_ratios[label]:,.0f}x{missed}"
        )
    page_p95 = _percentile(page, 0.95)
    missed = "" if page_p95 <= TARGET_P95_MS else "  MISSED"
    target = f"target <= {TARGET_P95_MS:.0f} ms"
    say(f"  GET /dashboard/ p95 = {page_p95:.1f} ms, all sets ({target}){missed}")
    ratio = min(page_ratios.values())
    missed = "" if ratio >= TARGET_RATIO else "  MISSED"
    say(f"  lowest ratio naive/page = {ratio:,.0f}x (target >= {TARGET_RATIO:.0f}x){missed}")
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
