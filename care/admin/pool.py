"""Admin for the pool: every stay, why it began and ended, and the rules (one row).

Stays are written by the pool's services (care.pool, care.receivers): staff look and
filter here, nobody adds or edits them by hand.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from care.models import PoolMember, PoolPolicy
from surveys.admin.bases import CustomerColumns, PhoneSearchMixin, ReadOnlyAdmin, SingleRowAdmin


class StayStateFilter(admin.SimpleListFilter):
    title = _("in the pool")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("In the pool now")), ("left", _("Left"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(left_at__isnull=True)
        if self.value() == "left":
            return queryset.filter(left_at__isnull=False)
        return queryset


def factors_html(factors: list[dict[str, Any]]) -> SafeString | str:
    """The factors that put a member here, largest first: "feature = value (+contribution)"."""
    rows = [
        (f.get("feature", ""), f.get("value", ""), f"{float(f.get('contribution') or 0):+.3f}")
        for f in factors or []
        if isinstance(f, dict)
    ]
    if not rows:
        return "-"
    items = format_html_join("", "<li>{} = {} ({})</li>", rows)
    return format_html('<ul style="margin:0;padding-left:1.2em">{}</ul>', items)


@admin.register(PoolMember)
class PoolMemberAdmin(PhoneSearchMixin, CustomerColumns, ReadOnlyAdmin):
    list_display = (
        "customer_phone", "kind", "reason", "detail", "entered_at", "left_at", "exit_reason",
        "risk_shown", "factors_shown",
    )  # fmt: skip
    list_filter = (
        "kind", "reason", StayStateFilter, "exit_reason", "customer__region", "customer__tier",
        "entered_at",
    )  # fmt: skip
    search_fields = ("customer__phone", "source")
    list_select_related = ("customer",)
    date_hierarchy = "entered_at"
    ordering = ("-entered_at",)
    fieldsets = (
        (None, {"fields": ("customer", "kind", "reason", "detail", "source")}),
        (_("Stay"), {"fields": ("entered_at", "left_at", "exit_reason")}),
        (_("Risk"), {"fields": ("risk", "risk_model", "factors_shown")}),
    )
    readonly_fields = (
        "customer", "kind", "reason", "detail", "source", "entered_at", "left_at",
        "exit_reason", "risk", "risk_model", "factors_shown",
    )  # fmt: skip

    @admin.display(description=_("risk score"), ordering="risk")
    def risk_shown(self, obj: PoolMember) -> str:
        return "-" if obj.risk is None else f"{obj.risk:.3f}"

    @admin.display(description=_("factors"))
    def factors_shown(self, obj: PoolMember) -> SafeString | str:
        return factors_html(obj.factors)


@admin.register(PoolPolicy)
class PoolPolicyAdmin(SingleRowAdmin):
    """One row: the list opens it; it is changed, never added or deleted."""

    fields = ("repeat_contacts", "repeat_days", "age_days", "potential_share", "updated_at")
    readonly_fields = ("updated_at",)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        policy = PoolPolicy.current()  # created with the defaults if the database has none
        return HttpResponseRedirect(reverse("admin:care_poolpolicy_change", args=[policy.pk]))
