"""The supervisor dashboard: one server-rendered page, its CSV exports, and the chart script.

Supervisors see everything; a team lead sees the teams they lead; anyone else gets 403.
"""

import gzip
from datetime import date
from functools import cache
from importlib.metadata import version
from pathlib import Path

import plotly
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from followups.roles import sees_units
from nps.dashboard import figures
from nps.dashboard.access import team_scope_for
from nps.dashboard.exports import TABLES, csv_response
from nps.dashboard.forms import Period, filter_form
from nps.reporting import queries
from nps.reporting.stats import Estimate, min_sample

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


@require_GET
@login_required(login_url="/admin/login/")
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = team_scope_for(request.user)
    form, period = filter_form(request.GET, team_scope=scope)
    sort = request.GET.get("sort", "")
    sort = sort if sort in figures.SORTS else figures.DEFAULT_SORT
    reason = request.GET.get("reason", "")[:32]
    if table := request.GET.get("export"):
        if table not in TABLES:
            raise Http404
        return csv_response(table, period, sort=sort, reason=reason)
    context = page_context(period, sort=sort, reason=reason)
    return render(
        request,
        "dashboard/page.html",
        {"form": form, "scope": scope, "sees_units": sees_units(request.user), **context},
    )


def _point(e: Estimate) -> float | None:
    return round(e.nps, 1) if e.sufficient and e.nps is not None else None


def trend_chart(rows: list[tuple[date, Estimate]]) -> dict:
    return {
        "x": [day.isoformat() for day, _e in rows],
        "nps": [_point(e) for _day, e in rows],
        "low": [round(e.low, 1) if e.sufficient else None for _day, e in rows],
        "high": [round(e.high, 1) if e.sufficient else None for _day, e in rows],
        "n": [e.n for _day, e in rows],
    }


def page_context(period: Period, *, sort: str, reason: str) -> dict:
    f = period.filters
    pareto = figures.reasons(f, language=get_language() or "en")
    days = figures.nps_days(period)
    trend = days.trend()
    funnel = figures.funnel(f)
    loop = queries.closed_loop(f)
    answers = next(s.count for s in funnel.steps if s.key == "responded")
    headline = days.headline()
    return {
        "period": period,
        "minimum": min_sample(),
        "reporting_time_zone": settings.NPS_REPORTING_TIME_ZONE,
        "headline": headline,
        "headline_html": {
            "current": figures.nps_html(headline.current, big=True),
            "previous": figures.nps_html(headline.previous),
        },
        "granularity": figures.granularity(period),
        "granularity_label": _("day") if figures.granularity(period) == "day" else _("week"),
        "trend": trend,
        "trend_rows": [(day, figures.nps_html(e), e.n) for day, e in trend],
        "trend_sufficient": any(e.sufficient for _day, e in trend),
        "trend_most": max((e.n for _day, e in trend), default=0),
        "breakdowns": figures.breakdowns(f, sort=sort),
        "sort": sort,
        "funnel": funnel,
        "closed_loop": figures.closed_loop(f, loop=loop),
        "costs": figures.costs(f, answers=answers, recovered=loop.recovered),
        "reasons": pareto,
        "reason": reason,
        "reason_label": next((r.label for r in pareto if r.code == reason), reason),
        "verbatims": figures.verbatims(f, reason=reason),
        "plotly_version": plotly_version(),
        "charts": {
            "trend": trend_chart(trend),
            "pareto": {
                "labels": [r.label for r in pareto],
                "counts": [r.detractors for r in pareto],
                "cumulative": [round(r.cumulative, 1) for r in pareto],
            },
            "funnel": {
                "labels": [s.label for s in funnel.steps],
                "values": [s.count for s in funnel.steps],
            },
        },
    }


@cache
def plotly_version() -> str:
    return version("plotly")


@cache
def plotly_js_gzipped() -> bytes:
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=9)


@require_GET
def plotly_js(request: HttpRequest) -> HttpResponse:
    """Plotly's JavaScript, from the installed package (never a CDN); cached for a year."""
    etag = f'"plotly-{plotly_version()}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        answer = HttpResponse(plotly_js_gzipped(), content_type="text/javascript")
        answer["Content-Encoding"] = "gzip"
    else:
        answer = HttpResponse(PLOTLY_JS.read_bytes(), content_type="text/javascript")
    answer["ETag"] = etag
    answer["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    patch_vary_headers(answer, ["Accept-Encoding"])
    return answer
