"""Admin for callback teams, agents and cases.

A case's status and agent change only through followups.assignment (and the services
that follow it): here they are shown read-only, and "Try to assign now" calls the service.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from followups.assignment import case_assign
from followups.models import OPEN_STATUSES, Agent, Case, CaseStatus, Priority, Team
from surveys.admin.core import (
    AMBER,
    BLUE,
    CATEGORY_COLOURS,
    GREEN,
    GREY,
    RED,
    CustomerColumns,
    PhoneSearchMixin,
    admin_link,
    badge,
    badge_column,
)

PRIORITY_COLOURS = {Priority.P1: RED, Priority.P2: AMBER, Priority.P3: GREY}
STATUS_COLOURS = {
    CaseStatus.NEW: RED,
    CaseStatus.ASSIGNED: BLUE,
    CaseStatus.IN_PROGRESS: BLUE,
    CaseStatus.RESOLVED: GREEN,
    CaseStatus.UNREACHABLE: GREY,
    CaseStatus.CLOSED: GREY,
}
OPEN_CASES = Q(cases__status__in=OPEN_STATUSES)


def when(moment: datetime | None) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "—"


def detail_table(rows: Iterable[tuple[Any, Any]]) -> SafeString:
    """Label/value rows for a read-only block on a change page."""
    row = '<tr><th scope="row" style="width:12em">{}</th><td>{}</td></tr>'
    cells = ((capfirst(label), value) for label, value in rows)
    return format_html("<table>{}</table>", format_html_join("", row, cells))


# ---------------------------------------------------------------- teams and agents


class RegionsField(forms.CharField):
    """A JSON list of region codes, typed as "BJ, SH"."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        return [code.strip() for code in text.replace(";", ",").split(",") if code.strip()]


class TeamForm(forms.ModelForm):
    regions = RegionsField(
        label=_("regions covered"),
        required=False,
        help_text=_(
            "Region codes separated by commas, e.g. BJ, SH. "
            "Leave empty for the fallback team that takes every other region."
        ),
    )

    class Meta:
        model = Team
        fields = ("name", "regions")


class AgentInline(admin.TabularInline):
    model = Agent
    extra = 0
    fields = ("name", "user", "capacity", "is_available")
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    inlines = (AgentInline,)
    list_display = ("name", "regions_label", "agent_count", "open_cases")
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                agent_count=Count("agents", distinct=True),
                open_cases=Count("cases", filter=OPEN_CASES, distinct=True),
            )
        )

    @admin.display(description=_("regions covered"))
    def regions_label(self, obj: Team) -> str:
        return ", ".join(obj.regions) or str(_("All other regions (fallback)"))

    @admin.display(description=_("agents"), ordering="agent_count")
    def agent_count(self, obj: Team) -> int:
        return obj.agent_count  # type: ignore[attr-defined]

    @admin.display(description=_("open cases"), ordering="open_cases")
    def open_cases(self, obj: Team) -> int:
        return obj.open_cases  # type: ignore[attr-defined]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "user", "capacity", "open_load", "is_available")
    list_editable = ("is_available",)
    list_filter = ("is_available", "team")
    search_fields = ("name", "user__username", "team__name")
    list_select_related = ("team", "user")
    autocomplete_fields = ("user",)
    ordering = ("team__name", "name")
    fields = ("name", "user", "team", "capacity", "is_available", "open_load")
    readonly_fields = ("open_load",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return super().get_queryset(request).annotate(open_load=Count("cases", filter=OPEN_CASES))

    @admin.display(description=_("open cases"), ordering="open_load")
    def open_load(self, obj: Agent) -> int:
        return getattr(obj, "open_load", 0)


# ---------------------------------------------------------------- cases


class AssignmentFilter(admin.SimpleListFilter):
    title = _("assignment")
    parameter_name = "assignment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("waiting", _("Waiting for an agent")), ("assigned", _("Assigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "waiting":
            return queryset.filter(agent__isnull=True, status=CaseStatus.NEW)
        if self.value() == "assigned":
            return queryset.filter(agent__isnull=False)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("first contact")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "yes":
            return queryset.filter(status__in=OPEN_STATUSES, sla_due_at__lt=timezone.now())
        return queryset


@admin.register(Case)
class CaseAdmin(PhoneSearchMixin, CustomerColumns, admin.ModelAdmin):
    list_display = (
        "id", "priority_badge", "status_badge", "customer_phone", "customer_tier", "score",
        "team", "agent", "sla_due_at", "overdue",
    )  # fmt: skip
    list_filter = (
        AssignmentFilter, OverdueFilter, "status", "priority", "team", "agent",
        "customer__tier", "customer__region", "response__interaction__touchpoint",
        "sla_due_at", "opened_at",
    )  # fmt: skip
    search_fields = ("customer__phone", "customer__name", "response__interaction__external_id")
    list_select_related = ("customer", "response__interaction", "team", "agent")
    date_hierarchy = "opened_at"
    ordering = ("-opened_at",)
    actions = ("try_assign",)
    priority_badge = badge_column("priority", PRIORITY_COLOURS, _("priority"))
    status_badge = badge_column("status", STATUS_COLOURS, _("status"))
    fieldsets = (
        (None, {"fields": ("priority", "status", "team", "agent")}),
        (_("Timing"), {"fields": ("opened_at", "assigned_at", "sla_due_at", "overdue")}),
        (_("Response"), {"fields": ("response_summary",)}),
        (_("Customer"), {"fields": ("customer_summary",)}),
        (_("Interaction"), {"fields": ("interaction_summary",)}),
    )
    readonly_fields = (
        "status", "team", "agent", "opened_at", "assigned_at", "sla_due_at", "overdue",
        "response_summary", "customer_summary", "interaction_summary",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened by followups.cases for detractor responses

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description=_("score"), ordering="response__score")
    def score(self, obj: Case) -> int:
        return obj.response.score

    @admin.display(boolean=True, description=_("Overdue"), ordering="sla_due_at")
    def overdue(self, obj: Case) -> bool:
        return obj.status in OPEN_STATUSES and obj.sla_due_at < timezone.now()

    @admin.display(description=_("response"))
    def response_summary(self, obj: Case) -> SafeString:
        response = obj.response
        category = badge(
            response.get_category_display(), CATEGORY_COLOURS.get(response.category, GREY)
        )
        return detail_table([
            (_("score"), admin_link(response, f"{response.score} / 10")),
            (_("category"), category),
            (_("comment"), linebreaksbr(response.comment) if response.comment else "—"),
            (_("answered at"), when(response.created_at)),
        ])  # fmt: skip

    @admin.display(description=_("customer"))
    def customer_summary(self, obj: Case) -> SafeString:
        customer = obj.customer
        opted_out = (
            _("Yes, since %(when)s") % {"when": when(customer.opted_out_at)}
            if customer.is_opted_out
            else _("No")
        )
        return detail_table([
            (_("phone"), admin_link(customer, customer.phone)),
            (_("name"), customer.name or "—"),
            (_("value tier"), customer.get_tier_display()),
            (_("region"), customer.region or "—"),
            (_("preferred language"), customer.get_language_display()),
            (_("opted out"), opted_out),
        ])  # fmt: skip

    @admin.display(description=_("interaction"))
    def interaction_summary(self, obj: Case) -> SafeString:
        interaction = obj.response.interaction
        staff = " ".join(p for p in (interaction.staff_id, interaction.staff_name) if p) or "—"
        return detail_table([
            (_("CRM id"), admin_link(interaction, interaction.external_id)),
            (_("touchpoint"), interaction.get_touchpoint_display()),
            (_("staff"), staff),
            (_("occurred at"), when(interaction.occurred_at)),
        ])  # fmt: skip

    @admin.action(description=_("Try to assign now"), permissions=["change"])
    def try_assign(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        assigned = waiting = skipped = 0
        for pk, agent_id, status in queryset.values_list("pk", "agent_id", "status"):
            if agent_id is not None or status != CaseStatus.NEW:
                skipped += 1
            elif case_assign(case_id=pk) is None:
                waiting += 1
            else:
                assigned += 1
        text = _("%(assigned)d assigned, %(waiting)d still waiting for an agent.") % {
            "assigned": assigned,
            "waiting": waiting,
        }
        if skipped:
            text += " " + _("%(skipped)d skipped: already assigned or no longer new.") % {
                "skipped": skipped
            }
        self.message_user(request, text, messages.WARNING if waiting else messages.SUCCESS)
