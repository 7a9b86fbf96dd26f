"""Admin for cases: the list with its filters, and the case page with attempts and history.

Status, agent and timestamps are read-only here: they change only through
followups.assignment and followups.workflow, which the actions and the work forms of
followups.admin.casework call. Rows are scoped by followups.queries.cases_visible_to,
so a case outside it cannot be opened even by URL.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import Field, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from followups.admin.casework import CaseWorkAdmin, customer_earlier
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
from followups.problems import ProblemRefused, case_typical_set, problem_from_cases
from followups.queries import cases_visible_to, unrouted
from followups.sla import due_at, overdue, overdue_flag
from followups.timezones import due_words, local_time, span_words
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
    return local_time(moment)


def duration(span: timedelta) -> str:
    """A time on hold as people read it: "1 d 3 h 05 min", "—" for none."""
    return span_words(span) if span.total_seconds() >= 60 else "—"


def phone_in_title(phone: str) -> str:
    """+8613812341234 -> 138****1234: the number a page title may show."""
    national = phone.removeprefix("+86") if phone.startswith("+86") else phone.lstrip("+")
    return f"{national[:3]}****{national[-4:]}" if len(national) > 7 else national


def case_title(case: Case) -> str:
    """What the case page is about: "Call back 138****1234 — detractor 3"."""
    return _("Call back %(phone)s — %(category)s %(score)d") % {
        "phone": phone_in_title(case.customer.phone),
        "category": case.response.get_category_display().lower(),
        "score": case.response.score,
    }


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
    "root_cause": _("root causes"), "action_taken": _("action taken"), "agent": _("agent"),
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


def local_short(moment: datetime | None) -> str:
    """A time in a column whose heading names the zone (`in_zone`)."""
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def in_zone(label: Any) -> Any:
    """A column heading naming the reader's zone: "due (Asia/Shanghai)"."""
    return format_lazy("{} ({})", label, lazy(timezone.get_current_timezone_name, str)())


class ContactAttemptInline(ReadOnlyInline):
    model = ContactAttempt
    fields = readonly_fields = ("at_local", "channel", "outcome", "agent", "note")

    @admin.display(description=in_zone(_("at")))
    def at_local(self, obj: ContactAttempt) -> str:
        return local_short(obj.at)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactAttempt]:
        return super().get_queryset(request).select_related("agent")


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = readonly_fields = ("at_local", "who", "what", "summary")

    @admin.display(description=in_zone(_("at")))
    def at_local(self, obj: CaseEvent) -> str:
        return local_short(obj.at)

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


class RegionFilter(admin.SimpleListFilter):
    """The regions of the cases the user may see (Django's own lists every customer's)."""

    title = _("region")
    parameter_name = "customer__region"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        scoped = model_admin.get_queryset(request).exclude(customer__region="")
        regions = scoped.order_by("customer__region").values_list("customer__region", flat=True)
        return [(region, region) for region in regions.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return queryset.filter(customer__region=self.value()) if self.value() else queryset


@admin.register(Case)
class CaseAdmin(PhoneSearchMixin, CustomerColumns, CaseWorkAdmin):
    # What a lead reads first, left to right: fits 1366 px with the filters beside it.
    list_display = (
        "id", "due", "overdue", "priority_badge", "status_badge", "agent", "team",
        "customer_phone", "score", "speaker_needed", "time_on_hold",
    )  # fmt: skip
    # Teams and agents offered are those of the cases the user may see (cases_visible_to);
    # the region, tier and touchpoint lists are read from the same scoped rows.
    list_filter = (
        MineFilter, AssignmentFilter, OverdueFilter, SpeakerFilter, HoldFilter, "status",
        "priority", ("team", admin.RelatedOnlyFieldListFilter),
        ("agent", admin.RelatedOnlyFieldListFilter),
        "customer__tier", RegionFilter,
        "response__interaction__touchpoint", "sla_due_at", "opened_at", "typical",
    )  # fmt: skip
    search_fields = ("customer__phone", "customer__name", "response__interaction__external_id")
    list_select_related = ("customer", "response__interaction", "team", "agent")
    date_hierarchy = "opened_at"
    # sla.due_at: soonest first (the stubs type ordering as names; Django takes expressions)
    ordering = (due_at().asc(nulls_last=True), "-opened_at")  # type: ignore[assignment]
    actions = ("try_assign", "mark_in_progress", "mark_typical", "open_problem")
    inlines = (ContactAttemptInline, CaseEventInline)
    priority_badge = badge_column("priority", PRIORITY_COLOURS, _("priority"))
    status_badge = badge_column("status", STATUS_COLOURS, _("status"))
    # The complaint first, then the timing, then the work and its resolution.
    fieldsets = (
        (_("Complaint"), {"fields": (
            "response_summary", "customer_summary", "interaction_summary", "customer_history",
        )}),
        (_("Timing"), {"fields": (
            "priority", "status", "team", "agent", "speaker_needed", "due", "timing_summary",
        )}),
        (_("Hold and callback"), {"fields": ("hold_summary", "handover")}),
        (_("Resolution"), {"fields": (
            "work", "root_causes_list", "action_taken", "resolution_note", "close_reason",
        )}),
    )  # fmt: skip
    # Everything is read-only; priority changes through its work form (leads, supervisors).
    readonly_fields = (*all_fields(fieldsets), "priority_change")
    # ... but for the typical case mark, saved by followups.problems.case_typical_set.
    fieldsets = (*fieldsets, (_("Typical case"), {"fields": ("typical", "typical_note")}))  # type: ignore[assignment]

    class Media:
        css: ClassVar = {"all": ("followups/casework.css",)}

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        case = self.get_object(request, object_id)
        title = {"title": case_title(case)} if case is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **title})

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not can_change_priority(request.user, obj):
            return fieldsets  # agents see the priority, not the way to change it
        first, (name, options), *rest = fieldsets  # the Timing section starts with priority
        fields = ("priority", "priority_change", *options["fields"][1:])
        return (first, (name, {**options, "fields": fields}), *rest)

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

    @admin.display(description=_("Overdue"), ordering="due_at")
    def overdue(self, obj: Case) -> SafeString | str:
        # A red word, not a green tick: overdue is the bad news.
        is_overdue = obj.is_overdue  # type: ignore[attr-defined]  # get_queryset annotates sla.overdue
        return badge(_("Overdue"), RED) if is_overdue else ""

    @admin.display(description=in_zone(_("due")), ordering="due_at")
    def due(self, obj: Case) -> SafeString | str:
        """The due time it is judged by (sla.due_at), local, and relatively."""
        moment = getattr(obj, "due_at", None)
        if moment is None:
            return "—"
        text, urgency = due_words(obj, now=timezone.now())
        return format_html(
            '<span class="due-at">{}</span> <span class="due-in due-{}">{}</span>',
            local_short(moment), urgency or "done", text,
        )  # fmt: skip

    @admin.display(description=_("time on hold"), ordering="hold_total")
    def time_on_hold(self, obj: Case) -> str:
        """Every hold of the case, the current one up to now included."""
        return duration(case_time_on_hold(obj, now=timezone.now()))

    @admin.display(description=_("times"))
    def timing_summary(self, obj: Case) -> SafeString:
        names = ("opened_at", "assigned_at", "sla_due_at", "first_attempt_at",
                 "first_contact_at", "resolution_due_at", "resolved_at", "closed_at")  # fmt: skip
        return detail_table(
            (cast(Field, Case._meta.get_field(name)).verbose_name, when(getattr(obj, name)))
            for name in names
        )

    @admin.display(description=_("hold and callback"))
    def hold_summary(self, obj: Case) -> SafeString:
        return detail_table([
            (_("on hold since"), when(obj.held_since)),
            (_("hold reason"), obj.get_hold_reason_display() or "—"),
            (_("hold note"), obj.hold_note or "—"),
            (_("times on hold"), obj.hold_count),
            (_("time on hold"), self.time_on_hold(obj)),
            (_("callback appointment"), appointment_local(obj) or "—"),
            (_("appointment reminder sent at"), when(obj.appointment_reminded_at)),
        ])  # fmt: skip

    @admin.display(description=_("root causes"))
    def root_causes_list(self, obj: Case) -> str:
        return ", ".join(str(cause) for cause in obj.root_causes.all()) or "—"

    @admin.display(description=_("the customer's earlier answers and cases"))
    def customer_history(self, obj: Case) -> SafeString | str:
        lines = customer_earlier(obj, limit=10)
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines)) if lines else "—"

    @admin.display(description=_("response"))
    def response_summary(self, obj: Case) -> SafeString:
        response = obj.response
        category = badge(
            response.get_category_display(), CATEGORY_COLOURS.get(response.category, GREY)
        )
        words = linebreaksbr(response.comment) if response.comment else "—"
        return detail_table([
            (_("score"), admin_link(response, f"{response.score} / 10")),
            (_("category"), category),
            (_("the customer's words"), words),
            (_("reasons"), ", ".join(str(r) for r in response.reasons.all()) or "—"),
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
            (_("phone"), format_html('<a class="tel" href="tel:{}">{}</a>', customer.phone,
                                     customer.phone)),
            (_("name"), admin_link(customer, customer.name or "—")),
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

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        if {"typical", "typical_note"} & set(form.changed_data):
            by = cast(User, request.user)
            case_typical_set(obj, by=by, typical=obj.typical, note=obj.typical_note)

    @admin.action(description=_("Mark as typical case"), permissions=["change"])
    def mark_typical(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        by = cast(User, request.user)
        marked = sum(
            case_typical_set(case, by=by, typical=True, note=case.typical_note)
            for case in queryset
        )
        self.message_user(request, _("%(n)d marked as typical cases.") % {"n": marked})

    def has_open_problem_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("followups.add_problem")

    @admin.action(
        description=_("Open a problem from the selected cases"), permissions=["open_problem"]
    )
    def open_problem(self, request: HttpRequest, queryset: QuerySet[Case]) -> HttpResponse | None:
        try:
            problem = problem_from_cases(queryset, by=cast(User, request.user))
        except ProblemRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return None
        self.message_user(request, _("Problem opened: %(title)s") % {"title": problem.title})
        return redirect("admin:followups_problem_change", problem.pk)

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
