"""Admin for cases: the list with its filters, and the case page with attempts and history.

Status, agent and timestamps are read-only here: they change only through
followups.assignment and followups.workflow, which the actions and the work forms of
followups.admin.casework call. Rows are scoped by followups.queries.cases_visible_to,
so a case outside it cannot be opened even by URL.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from followups.admin.casework import CaseWorkAdmin
from followups.assignment import case_assign
from followups.handover import appointment_local, case_time_on_hold
from followups.models import (
    Case,
    CaseEvent,
    CaseStatus,
    ContactAttempt,
    ContactChannel,
    ContactOutcome,
    HoldReason,
    Priority,
)
from followups.permissions import can_change_priority, can_edit_case
from followups.queries import cases_visible_to, unrouted
from followups.sla import due_at, overdue, overdue_flag
from surveys.admin.badges import (
    AMBER,
    BLUE,
    CATEGORY_COLOURS,
    GREEN,
    GREY,
    RED,
    admin_link,
    badge,
    badge_column,
)
from surveys.admin.bases import CustomerColumns, PhoneSearchMixin, ReadOnlyMixin, all_fields

PRIORITY_COLOURS = {Priority.P1: RED, Priority.P2: AMBER, Priority.P3: GREY}
# The case list and page say in words which speaker a case is waiting for.
NEEDS_SPEAKER = {"bo": _("Needs a Tibetan speaker"), "en": _("Needs an English speaker")}
STATUS_COLOURS = {
    CaseStatus.NEW: RED,
    CaseStatus.ASSIGNED: BLUE,
    CaseStatus.IN_PROGRESS: BLUE,
    CaseStatus.RESOLVED: GREEN,
    CaseStatus.UNREACHABLE: GREY,
    CaseStatus.CLOSED: GREY,
}


def when(moment: datetime | None) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "—"


def duration(span: timedelta) -> str:
    """A time on hold as people read it: "1 d 3 h 05 min", "—" for none."""
    minutes = int(span.total_seconds() // 60)
    if minutes <= 0:
        return "—"
    days, rest = divmod(minutes, 24 * 60)
    text = _("%(h)d h %(m)02d min") % {"h": rest // 60, "m": rest % 60}
    return (_("%(d)d d") % {"d": days} + " " + text) if days else text


def detail_table(rows: Iterable[tuple[Any, Any]]) -> SafeString:
    """Label/value rows for a read-only block on a change page."""
    row = '<tr><th scope="row" style="width:12em">{}</th><td>{}</td></tr>'
    cells = ((capfirst(label), value) for label, value in rows)
    return format_html("<table>{}</table>", format_html_join("", row, cells))


# ---------------------------------------------------------------- history, readably

EVENT_LABELS = {
    "opened": _("Opened"), "assigned": _("Assigned"), "started": _("Started"),
    "attempt": _("Contact attempt"), "resolved": _("Resolved"),
    "unreachable": _("Marked unreachable"), "closed": _("Closed"), "reopened": _("Reopened"),
    "escalated": _("Escalated"), "escalation_not_sent": _("Escalation email not sent"),
    "priority_changed": _("Priority changed"), "held": _("Put on hold"),
    "resumed": _("Resumed"), "appointment_booked": _("Callback booked"),
    "appointment_reminded": _("Callback reminder sent"),
    "appointment_reminder_not_sent": _("Callback reminder not sent"),
    "transferred": _("Transferred"),
}  # fmt: skip
DETAIL_LABELS = {
    "channel": _("channel"), "outcome": _("outcome"), "note": _("note"), "reason": _("reason"),
    "root_cause": _("root cause"), "action_taken": _("action taken"), "agent": _("agent"),
    "team": _("team"), "priority": _("priority"), "score": _("score"), "level": _("level"),
    "failed_attempts": _("failed attempts"), "automatic": _("automatically"), "to": _("to"),
    "hold_reason": _("hold reason"), "on_hold_minutes": _("minutes on hold"),
    "appointment": _("callback appointment"), "from_agent": _("from agent"),
    "from_team": _("from team"), "override_reason": _("override reason"),
    "first_contact_due": _("first contact due"), "resolution_due": _("resolution due"),
}  # fmt: skip
DETAIL_CHOICES = {
    "channel": ContactChannel, "outcome": ContactOutcome, "priority": Priority,
    "hold_reason": HoldReason,
}  # fmt: skip


def choice_label(choices: Any, value: Any) -> Any:
    return choices(value).label if value in choices.values else value


def event_summary(detail: dict[str, Any]) -> str:
    """An event's detail as one line: "Assigned → In progress · outcome: No answer"."""
    parts, hidden = [], {"attempt"}  # the attempt's own row is listed above the history
    if "from" in detail:
        hidden |= {"from", "to"}
        parts.append(
            " → ".join(str(choice_label(CaseStatus, detail.get(k))) for k in ("from", "to"))
        )
    if "priority_from" in detail:  # a priority change: its due times are read on the case
        hidden |= {"priority_from", "priority", "first_contact_due", "resolution_due"}
        pair = (detail["priority_from"], detail.get("priority"))
        parts.append(" → ".join(str(choice_label(Priority, value)) for value in pair))
    for key, value in detail.items():
        if key in hidden or value in ("", None, False, []):
            continue
        label = DETAIL_LABELS.get(key, key.replace("_", " "))
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        shown = choice_label(DETAIL_CHOICES[key], value) if key in DETAIL_CHOICES else shown
        parts.append(str(label) if value is True else f"{label}: {shown}")
    return " · ".join(parts)


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ContactAttemptInline(ReadOnlyInline):
    model = ContactAttempt
    fields = readonly_fields = ("at", "channel", "outcome", "agent", "note")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactAttempt]:
        return super().get_queryset(request).select_related("agent")


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = readonly_fields = ("at", "who", "what", "summary")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("who"))
    def who(self, obj: CaseEvent) -> str:
        return str(obj.actor) if obj.actor else str(_("System"))

    @admin.display(description=_("what"))
    def what(self, obj: CaseEvent) -> str:
        return str(EVENT_LABELS.get(obj.kind, obj.kind))

    @admin.display(description=_("detail"))
    def summary(self, obj: CaseEvent) -> str:
        return event_summary(obj.detail)


# ---------------------------------------------------------------- the case admin


class MineFilter(admin.SimpleListFilter):
    title = _("whose")
    parameter_name = "mine"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Mine"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() != "yes":
            return queryset
        return queryset.filter(agent__user=cast(User, request.user))  # the admin's: staff only


class AssignmentFilter(admin.SimpleListFilter):
    title = _("assignment")
    parameter_name = "assignment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("waiting", _("Waiting for an agent")),
            ("unrouted", _("Unrouted (no team takes them)")),
            ("assigned", _("Assigned")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "waiting":
            return queryset.filter(agent__isnull=True, status=CaseStatus.NEW)
        if self.value() == "unrouted":
            return queryset.filter(unrouted())
        if self.value() == "assigned":
            return queryset.filter(agent__isnull=False)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("due time")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "yes":
            return queryset.filter(overdue(timezone.now()))
        return queryset


class SpeakerFilter(admin.SimpleListFilter):
    title = _("language")
    parameter_name = "needs_language"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(NEEDS_SPEAKER.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return queryset.filter(needs_language=self.value()) if self.value() else queryset


class HoldFilter(admin.SimpleListFilter):
    title = _("hold")
    parameter_name = "held"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("now", _("On hold now")), ("ever", _("Ever on hold"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "now":
            return queryset.filter(held_since__isnull=False)
        if self.value() == "ever":
            return queryset.filter(hold_count__gt=0)
        return queryset


@admin.register(Case)
class CaseAdmin(PhoneSearchMixin, CustomerColumns, CaseWorkAdmin):
    list_display = (
        "id", "priority_badge", "status_badge", "customer_phone", "customer_tier", "score",
        "team", "agent", "speaker_needed", "sla_due_at", "overdue", "time_on_hold",
    )  # fmt: skip
    list_filter = (
        MineFilter, AssignmentFilter, OverdueFilter, SpeakerFilter, HoldFilter, "status",
        "priority", "team", "agent",
        "customer__tier", "customer__region", "response__interaction__touchpoint",
        "sla_due_at", "opened_at",
    )  # fmt: skip
    search_fields = ("customer__phone", "customer__name", "response__interaction__external_id")
    list_select_related = ("customer", "response__interaction", "team", "agent")
    date_hierarchy = "opened_at"
    ordering = ("-opened_at",)
    actions = ("try_assign", "mark_in_progress")
    inlines = (ContactAttemptInline, CaseEventInline)
    priority_badge = badge_column("priority", PRIORITY_COLOURS, _("priority"))
    status_badge = badge_column("status", STATUS_COLOURS, _("status"))
    fieldsets = (
        (None, {"fields": ("priority", "status", "team", "agent", "work", "handover")}),
        (_("Hold and callback"), {"fields": (
            "held_since", "hold_reason", "hold_note", "hold_count", "time_on_hold",
            "appointment", "appointment_reminded_at",
        )}),
        (_("Timing"), {"fields": (
            "opened_at", "assigned_at", "sla_due_at", "overdue", "first_attempt_at",
            "first_contact_at",
            "resolution_due_at", "resolved_at", "closed_at",
        )}),
        (_("Resolution"), {"fields": (
            "root_cause", "action_taken", "resolution_note", "close_reason",
        )}),
        (_("Response"), {"fields": ("response_summary",)}),
        (_("Customer"), {"fields": ("customer_summary", "speaker_needed")}),
        (_("Interaction"), {"fields": ("interaction_summary",)}),
    )  # fmt: skip
    # Everything is read-only; priority changes through its work form (leads, supervisors).
    readonly_fields = (*all_fields(fieldsets), "priority_change")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not can_change_priority(request.user, obj):
            return fieldsets  # agents see the priority, not the way to change it
        (name, options), *rest = fieldsets
        fields = ("priority", "priority_change", *options["fields"][1:])
        return ((name, {**options, "fields": fields}), *rest)

    @admin.display(description=_("change priority"))
    def priority_change(self, obj: Case) -> SafeString:
        back = reverse("admin:followups_case_change", args=[obj.pk])
        link = reverse("admin:followups_case_priority", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}?{}">{}</a>',
            link, urlencode({"next": back}), _("Change priority"),
        )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened by followups.cases for detractor responses

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or self.may_work(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.may_work(request, obj))

    def may_work(self, request: HttpRequest, case: Case) -> bool:
        # Asked many times while one page renders: answer once per request and case.
        answers = request.__dict__.setdefault("_cases_workable", {})
        if case.pk not in answers:
            answers[case.pk] = can_edit_case(request.user, case)
        return answers[case.pk]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        cases = super().get_queryset(request).select_related(*self.list_select_related)
        cases = cases.annotate(due_at=due_at(), is_overdue=overdue_flag(timezone.now()))
        return cases_visible_to(request.user, within=cases)

    @admin.display(description=_("score"), ordering="response__score")
    def score(self, obj: Case) -> int:
        return obj.response.score

    @admin.display(description=_("language"), ordering="needs_language")
    def speaker_needed(self, obj: Case) -> SafeString | str:
        if not obj.needs_language:
            return "—"
        label = NEEDS_SPEAKER.get(obj.needs_language, obj.get_needs_language_display())
        return badge(label, AMBER)

    @admin.display(boolean=True, description=_("Overdue"), ordering="due_at")
    def overdue(self, obj: Case) -> bool:
        return obj.is_overdue  # type: ignore[attr-defined]  # get_queryset annotates sla.overdue

    @admin.display(description=_("time on hold"), ordering="hold_total")
    def time_on_hold(self, obj: Case) -> str:
        """Every hold of the case, the current one up to now included."""
        return duration(case_time_on_hold(obj, now=timezone.now()))

    @admin.display(description=_("callback appointment"))
    def appointment(self, obj: Case) -> str:
        return appointment_local(obj) or "—"

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
