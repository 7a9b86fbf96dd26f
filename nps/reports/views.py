"""The report pages: the list a person may see, one report's page, its PDF."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from nps.reports.access import reports_visible
from nps.reports.schedule import pdf_missing_message, report_filename

LOGIN = "/admin/login/"


@require_GET
@login_required(login_url=LOGIN)
def report_list(request: HttpRequest) -> HttpResponse:
    reports = (
        reports_visible(request.user)
        .defer("html", "pdf")
        .annotate(has_pdf=ExpressionWrapper(Q(pdf__isnull=False), output_field=BooleanField()))
    )
    page = Paginator(reports.order_by("-period_start", "cadence", "unit__name", "pk"), 50)
    context = {"page": page.get_page(request.GET.get("page")), "missing": pdf_missing_message()}
    return render(request, "reports/list.html", context)


@require_GET
@login_required(login_url=LOGIN)
@xframe_options_sameorigin
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(reports_visible(request.user), pk=pk)
    return HttpResponse(report.html, content_type="text/html; charset=utf-8")


@require_GET
@login_required(login_url=LOGIN)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(reports_visible(request.user), pk=pk)
    if not report.pdf:
        raise Http404(pdf_missing_message())
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{report_filename(report)}.pdf"'
    return response
