"""The pool and campaign pages, beside the dashboard: server-rendered, with CSV downloads.

Who sees what is care.reports.care_scope (the dashboard's rule): supervisors everything,
a team lead the pool members in their teams' regions and the campaigns their teams call
for, anyone else 403. `?export=members` on a page returns its members as CSV, filtered
as the page is.
"""

from importlib.metadata import version

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from care import reports
from care.campaigns import campaign_evaluation
from care.models import EntryReason, MemberKind
from surveys.models import Tier
from surveys.spreadsheets import csv_download

ALL = ("", _("All"))


class PoolFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    tier = forms.ChoiceField(label=_("Value tier"), required=False)
    min_risk = forms.FloatField(
        label=_("Risk score at least"), required=False, min_value=0.0, max_value=1.0
    )

    def __init__(self, data: QueryDict, *, regions: list[str]) -> None:
        super().__init__(data)
        self.fields["kind"].choices = [ALL, *MemberKind.choices]  # type: ignore[attr-defined]
        self.fields["reason"].choices = [ALL, *EntryReason.choices]  # type: ignore[attr-defined]
        self.fields["tier"].choices = [ALL, *Tier.choices]  # type: ignore[attr-defined]
        asked = data.get("region", "")
        offered = sorted(set(regions) | ({asked} if asked else set()))
        self.fields["region"].choices = [ALL, *((r, r) for r in offered)]  # type: ignore[attr-defined]
        self.fields["min_risk"].widget.attrs.update({"step": "0.05", "placeholder": "0.5"})

    def filters(self) -> reports.PoolFilters:
        """The filters in force: the valid ones (an invalid field shows its error)."""
        self.is_valid()
        got = getattr(self, "cleaned_data", {})
        return reports.PoolFilters(
            kind=got.get("kind") or "",
            reason=got.get("reason") or "",
            region=got.get("region") or "",
            tier=got.get("tier") or "",
            min_risk=got.get("min_risk"),
        )


def _regions_offered(scope: reports.Scope) -> list[str]:
    regions = reports.scope_regions(scope)
    if regions is not None:
        return regions
    stays = reports.pool_selected(scope, reports.PoolFilters())
    found = stays.values_list("customer__region", flat=True).distinct().order_by()
    return sorted({r for r in found if r})


def _common(page: str) -> dict:
    return {
        "page": page,
        "plotly_version": version("plotly"),
        "time_zone": settings.NPS_REPORTING_TIME_ZONE,
    }


@require_GET
@login_required(login_url="/admin/login/")
def pool(request: HttpRequest) -> HttpResponse:
    scope = reports.care_scope(request.user)
    form = PoolFilterForm(request.GET, regions=_regions_offered(scope))
    f = form.filters()
    stays = reports.pool_selected(scope, f)
    if export := request.GET.get("export"):
        if export != "members":
            raise Http404
        day = reports.local_today()
        return csv_download(
            f"care-pool-members-{day:%Y%m%d}.csv",
            reports.MEMBERS_HEADER,
            reports.members_csv_rows(stays),
        )
    size = reports.pool_size(stays)
    ever = reports.pool_visible(scope)
    series = reports.pool_series(reports.pool_history(scope, f), end=reports.local_today())
    by_region = reports.pool_by(stays, "region")
    by_tier = reports.pool_by(stays, "tier")
    rows = list(reports.member_rows(stays, limit=reports.MEMBERS_SHOWN))
    context = {
        "form": form,
        "scope": scope,
        "filtered": any(v not in ("", None) for v in vars(f).values()),
        "pool_ever": ever.exists(),
        "size": size,
        "series": series,
        "series_days": reports.SERIES_DAYS,
        "by_region": by_region,
        "by_tier": by_tier,
        "rows": rows,
        "shown": len(rows),
        "card": reports.active_model(),
        "charts": {
            "series": {
                "x": [d.isoformat() for d in series.days],
                "lines": [{"name": label, "y": ys} for _code, label, ys in series.lines],
            },
            "region": {"labels": [r[1] for r in by_region], "values": [r[2] for r in by_region]},
            "tier": {"labels": [r[1] for r in by_tier], "values": [r[2] for r in by_tier]},
        },
        **_common("pool"),
    }
    return render(request, "care/pool.html", context)


@require_GET
@login_required(login_url="/admin/login/")
def campaigns(request: HttpRequest) -> HttpResponse:
    scope = reports.care_scope(request.user)
    visible = reports.campaigns_visible(scope)
    context = {
        "scope": scope,
        "rows": reports.campaign_rows(visible),
        "results": reports.results_rows(visible),
        **_common("campaigns"),
    }
    return render(request, "care/campaigns.html", context)


@require_GET
@login_required(login_url="/admin/login/")
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    scope = reports.care_scope(request.user)
    c = get_object_or_404(reports.campaigns_visible(scope), pk=campaign_id)
    if export := request.GET.get("export"):
        if export != "members":
            raise Http404
        return csv_download(
            f"care-campaign-{c.pk}-members.csv",
            reports.MEMBERS_CAMPAIGN_HEADER,
            reports.campaign_members_csv_rows(c),
        )
    finished = c.status == reports.FINISHED
    evaluation = campaign_evaluation(c) if finished else None
    charts: dict = {}
    if evaluation is not None:
        o = evaluation.row
        charts["before_after"] = {
            "treated": [o.satisfaction_before, o.satisfaction_after],
            "control": [evaluation.control_before, evaluation.control_after],
        }
    context = {
        "scope": scope,
        "campaign": c,
        "actions": reports.actions_text(c),
        "reach": reports.campaign_reach(c),
        "finished": finished,
        "evaluation": evaluation,
        "did_text": reports.did_text(evaluation.did) if evaluation else "",
        "nps_text": reports.nps_text(evaluation.nps) if evaluation else "",
        "exit_text": reports.exit_text(evaluation.exits) if evaluation else "",
        "started_at": reports.local(c.started_at),
        "finished_at": reports.local(c.finished_at),
        "post_survey_at": reports.local(c.post_survey_at),
        "charts": charts,
        **_common("campaigns"),
    }
    return render(request, "care/campaign.html", context)
