"""Reports in the admin: the generated reports (read-only, with links to the page and the
PDF) and the subscriptions (who gets which unit's reports by email)."""

from typing import Any

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from nps.models import Report, ReportSubscription
from nps.reports.schedule import pdf_missing_message


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "unit", "cadence", "period_start", "period_end", "language",
                    "generated_at", "links")  # fmt: skip
    list_filter = ("cadence", "language")
    list_select_related = ("unit",)
    search_fields = ("unit__name",)
    date_hierarchy = "period_start"
    fields = ("unit", "cadence", "period_start", "period_end", "language", "generated_at",
              "links")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        has_pdf = ExpressionWrapper(Q(pdf__isnull=False), output_field=BooleanField())
        return super().get_queryset(request).defer("html", "pdf").annotate(has_pdf=has_pdf)

    @admin.display(description=_("open"))
    def links(self, report: Report) -> str:
        page = reverse("reports:detail", args=[report.pk])
        if not getattr(report, "has_pdf", False):
            return format_html(
                '<a href="{}">{}</a> · <span title="{}">{}</span>',
                page, _("page"), pdf_missing_message(), _("PDF unavailable"),
            )  # fmt: skip
        pdf = reverse("reports:pdf", args=[report.pk])
        return format_html('<a href="{}">{}</a> · <a href="{}">PDF</a>', page, _("page"), pdf)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "unit", "cadence", "active", "last_sent_period")
    list_filter = ("cadence", "active")
    list_select_related = ("user", "unit")
    search_fields = ("user__username", "user__email", "unit__name")
    autocomplete_fields = ("user",)
    readonly_fields = ("last_sent_period",)
