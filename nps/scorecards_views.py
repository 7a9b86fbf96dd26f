"""The scorecard pages: a unit's child units against their targets, and the staff scorecard.

Who sees what is followups.roles.unit_scope: supervisors every unit, a unit's owners their
subtrees, anyone else 403. The staff scorecard follows nps.staff_scorecard's rule. Figures
come from nps.scorecards and nps.staff_scorecard only; `?export=csv` downloads the table.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from followups.roles import unit_scope
from nps.models import HIGHER_IS_BETTER, ReportCadence
from nps.reporting.days import local_today
from nps.reporting.stats import min_sample
from nps.reports.periods import period_containing, ten_day_part
from nps.scorecards import METRICS, Ranked, TargetResult, rank, targets_against_results
from nps.staff_scorecard import staff_rows, staff_scorecard_allowed
from surveys.models import Unit
from surveys.spreadsheets import csv_download
from surveys.units import children_by_parent, units_in_tree_order

WHOLE, EARLY, MIDDLE, LATE = "", "early", "middle", "late"
PARTS = [
    (WHOLE, gettext_lazy("Whole month")),
    (EARLY, gettext_lazy("Days 1-10 (上旬)")),
    (MIDDLE, gettext_lazy("Days 11-20 (中旬)")),
    (LATE, gettext_lazy("Day 21 to the end (下旬)")),
]


def period_days(month: date, part: str) -> tuple[date, date]:
    """The local days of a month, or of one of its ten-day parts (上旬 1-10, 中旬 11-20,
    下旬 21 to the month's end): the reports' periods (nps.reports.periods)."""
    if part in PART_FIRST_DAY:
        period = period_containing(ReportCadence.TEN_DAY, month.replace(day=PART_FIRST_DAY[part]))
    else:
        period = period_containing(ReportCadence.MONTHLY, month)
    return period.start, period.end


PART_FIRST_DAY = {EARLY: 1, MIDDLE: 11, LATE: 21}


def dekad_of(day: date) -> str:
    part = ten_day_part(period_containing(ReportCadence.TEN_DAY, day))
    return (EARLY, MIDDLE, LATE)[part - 1]


class ScorecardForm(forms.Form):
    unit = forms.TypedChoiceField(label=gettext_lazy("Unit"), coerce=int, required=False)
    month = forms.DateField(
        label=gettext_lazy("Month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    part = forms.ChoiceField(label=gettext_lazy("Days"), choices=PARTS, required=False)
    start = forms.DateField(
        label=gettext_lazy("Custom from"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Custom to"), required=False, widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, data: QueryDict, *, units: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["unit"].choices = units  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        got = super().clean() or {}
        start, end = got.get("start"), got.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The custom period ends before it starts."))
        return got


@dataclass(frozen=True)
class Choice:
    unit_id: int
    start: date
    end: date


def units_offered(scope: list[int] | None) -> list[tuple[int, str]]:
    """The units a person may pick, in the tree's order (surveys.units), indented from the
    top of their scope: a scope holds whole subtrees, each shown from its own top."""
    allowed = None if scope is None else set(scope)
    found: list[tuple[int, str]] = []
    top_depth: int | None = None  # the depth of the subtree being shown
    for unit, depth, name in units_in_tree_order():
        if top_depth is not None and depth <= top_depth:
            top_depth = None  # that subtree has ended
        if allowed is not None and unit not in allowed:
            continue
        if top_depth is None:
            top_depth = depth
        found.append((unit, "\u2003" * (depth - top_depth) + name))
    return found


def choice_of(form: ScorecardForm, units: list[tuple[int, str]]) -> Choice:
    """The unit and days asked for (the valid fields), else the top unit and this month."""
    form.is_valid()
    got = getattr(form, "cleaned_data", {})
    today = local_today()
    unit = got.get("unit") or units[0][0]
    if got.get("start") and got.get("end"):
        return Choice(unit, got["start"], got["end"])
    start, end = period_days(got.get("month") or today, got.get("part") or WHOLE)
    return Choice(unit, start, end)


def presets(today: date) -> list[tuple[str, dict[str, str]]]:
    last_month = today.replace(day=1) - timedelta(days=1)
    return [
        (_("This month"), {"month": f"{today:%Y-%m}", "part": WHOLE}),
        (_("Last month"), {"month": f"{last_month:%Y-%m}", "part": WHOLE}),
        (_("These ten days"), {"month": f"{today:%Y-%m}", "part": dekad_of(today)}),
    ]


def _scope_or_403(request: HttpRequest) -> tuple[list[int] | None, list[tuple[int, str]]]:
    """The person's unit scope and the units they may pick; 403 without any (a supervisor
    sees the page before any unit exists, with a word on where units come from)."""
    scope = unit_scope(request.user)
    if scope == []:
        raise PermissionDenied
    return scope, units_offered(scope)


def no_units(request: HttpRequest, page: str) -> HttpResponse:
    return render(request, "scorecards/no_units.html", _common(page))


def verdict_text(met: bool | None, target: float | None) -> str:
    if target is None:
        return _("no target")
    return {True: _("met"), False: _("missed"), None: _("can't tell yet")}[met]


def metric_heads() -> list[dict[str, Any]]:
    return [{"code": str(m), "label": m.label, "higher": HIGHER_IS_BETTER[m]} for m in METRICS]


def _cells(results: list[TargetResult], ranks: dict[tuple[int, str], Ranked]) -> dict[int, list]:
    cells: dict[int, list] = {}
    for r in results:
        half = None if r.low is None or r.high is None else (r.high - r.low) / 2
        placed = ranks.get((r.unit_id, r.metric))
        cells.setdefault(r.unit_id, []).append(
            {
                "r": r,
                "half": half,
                "verdict": verdict_text(r.met, r.target),
                "state": {True: "met", False: "missed", None: "unknown"}[r.met],
                "rank": placed.label if placed else "",
                "few": r.n < min_sample(),
            }
        )
    return cells


def table(unit_id: int, start: date, end: date, sort: str) -> dict[str, Any]:
    """The parent unit's row and its children's, with ranks among the children per metric."""
    children = children_by_parent().get(unit_id, [])
    names = dict(Unit.objects.filter(pk__in=[unit_id, *children]).values_list("pk", "name"))
    results = targets_against_results(unit_ids=[unit_id, *children], start=start, end=end)
    of_children = [r for r in results if r.unit_id != unit_id]
    ranks: dict[tuple[int, str], Ranked] = {}
    order: dict[str, list[int]] = {}
    for metric in METRICS:
        ranking = rank(of_children, metric)
        for placed in ranking.ranked:
            ranks[(placed.result.unit_id, str(metric))] = placed
        order[str(metric)] = [p.result.unit_id for p in ranking.ranked] + [
            r.unit_id for r in ranking.too_few
        ]
    cells = _cells(results, ranks)
    ids = order.get(sort) or sorted(children, key=lambda u: names[u])
    rows = [{"unit_id": u, "name": names[u], "cells": cells[u]} for u in ids]
    return {
        "parent": {"unit_id": unit_id, "name": names[unit_id], "cells": cells[unit_id]},
        "rows": rows,
    }


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_rows(data: dict[str, Any]) -> list[list[object]]:
    found: list[list[object]] = []
    for row in [data["parent"], *data["rows"]]:
        for cell in row["cells"]:
            r = cell["r"]
            found.append(
                [
                    row["name"],
                    r.metric,
                    _number(r.value),
                    _number(r.low),
                    _number(r.high),
                    r.n,
                    _number(r.target),
                    cell["verdict"],
                    cell["rank"],
                ]
            )
    return found


def _common(page: str) -> dict[str, Any]:
    return {"page": page, "time_zone": timezone.get_current_timezone_name(), "now": timezone.now()}


@require_GET
@login_required(login_url="/admin/login/")
def scorecards(request: HttpRequest) -> HttpResponse:
    _scope, units = _scope_or_403(request)
    if not units:
        return no_units(request, "units")
    form = ScorecardForm(request.GET, units=units)
    c = choice_of(form, units)
    sort = request.GET.get("sort", "")
    data = table(c.unit_id, c.start, c.end, sort)
    if request.GET.get("export") == "csv":
        header = [
            _("Unit"),
            _("Metric"),
            _("Value"),
            # xgettext:no-python-format
            _("95% low"),
            # xgettext:no-python-format
            _("95% high"),
            "n",
            _("Target"),
            _("Result"),
            _("Rank"),
        ]
        return csv_download(
            f"scorecard-{c.unit_id}-{c.start:%Y%m%d}-{c.end:%Y%m%d}.csv", header, csv_rows(data)
        )
    context = {
        "form": form,
        "choice": c,
        "sort": sort,
        "metrics": metric_heads(),
        "minimum": min_sample(),
        "presets": presets(local_today()),
        **data,
    }
    return render(request, "scorecards/units.html", {**context, **_common("units")})


@require_GET
@login_required(login_url="/admin/login/")
def staff(request: HttpRequest) -> HttpResponse:
    _scope, units = _scope_or_403(request)
    if not units:
        return no_units(request, "staff")
    form = ScorecardForm(request.GET, units=units)
    c = choice_of(form, units)
    if not staff_scorecard_allowed(request.user, c.unit_id):
        raise PermissionDenied
    rows = staff_rows(unit_id=c.unit_id, start=c.start, end=c.end)
    chinese = (get_language() or "en").startswith("zh")
    context = {
        "form": form,
        "choice": c,
        "rows": rows,
        "chinese": chinese,
        "unit_name": dict(units)[c.unit_id].strip(),
        "minimum": min_sample(),
        "presets": presets(local_today()),
    }
    return render(request, "scorecards/staff.html", {**context, **_common("staff")})
