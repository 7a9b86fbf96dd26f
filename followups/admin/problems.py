"""Admin for problems: the list with its overdue marker, the problem page with its actions,
history and verification, the moves as buttons; and the accountability entries.

Status, verification figures and closing are read-only: they change only through
followups.problems, which the buttons, the list actions and the saving of the page call.
"""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from followups import problems
from followups.admin.cases import ReadOnlyInline, event_summary, in_zone, local_short
from followups.models import (
    AccountabilityEntry,
    Problem,
    ProblemAction,
    ProblemEvent,
    ProblemStatus,
)
from followups.problems import ProblemRefused
from followups.roles import unit_scope
from followups.timezones import local_time
from surveys.admin.badges import AMBER, BLUE, GREEN, GREY, RED, badge, badge_column

STATUS_COLOURS = {
    ProblemStatus.OPEN: RED,
    ProblemStatus.RECTIFYING: AMBER,
    ProblemStatus.VERIFYING: BLUE,
    ProblemStatus.CLOSED: GREY,
}


def _close_verified(problem: Problem, *, by: User) -> None:
    problems.problem_close(problem, by=by, verified=True)


def _close_unverified(problem: Problem, *, by: User) -> None:
    problems.problem_close(problem, by=by, verified=False)


# The moves a person makes: (label, service); the page offers those the status allows.
MOVES: dict[str, tuple[Any, Callable[..., None], tuple[str, ...]]] = {
    "rectifying": (
        _("Start rectifying"),
        problems.problem_rectifying_start,
        (ProblemStatus.OPEN, ProblemStatus.VERIFYING),
    ),
    "rectified": (_("Mark rectified"), problems.problem_rectified, (ProblemStatus.RECTIFYING,)),
    "close_verified": (
        _("Confirm closure (verified)"),
        _close_verified,
        (ProblemStatus.VERIFYING,),
    ),
    "close_unverified": (
        _("Close, not verified"),
        _close_unverified,
        (ProblemStatus.OPEN, ProblemStatus.RECTIFYING, ProblemStatus.VERIFYING),
    ),
    "reopen": (_("Reopen"), problems.problem_reopen, (ProblemStatus.CLOSED,)),
}


def staff(request: HttpRequest) -> User:
    return cast(User, request.user)  # the admin's: staff only


def share_text(part: int | None, whole: int | None) -> str:
    if part is None or not whole:
        return "—"
    return f"{100 * part / whole:.1f}% ({part} / {whole})"


class OverdueProblemFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Problem]) -> QuerySet[Problem]:
        rule = problems.problem_overdue(timezone.now())
        if self.value() == "yes":
            return queryset.filter(rule)
        if self.value() == "no":
            return queryset.exclude(rule)
        return queryset


class ProblemActionForm(forms.ModelForm):
    mark_done = forms.BooleanField(label=_("done"), required=False)

    class Meta:
        model = ProblemAction
        fields = ("text", "assignee", "due_at")


class ProblemActionInline(admin.TabularInline):
    model = ProblemAction
    form = ProblemActionForm
    formset: type[BaseInlineFormSet] = BaseInlineFormSet
    extra = 1
    can_delete = False
    fields = ("text", "assignee", "due_at", "done_local", "mark_done")
    readonly_fields = ("done_local",)
    raw_id_fields = ("assignee",)

    @admin.display(description=in_zone(_("done at")))
    def done_local(self, obj: ProblemAction) -> str:
        return local_short(obj.done_at)


class ProblemEventInline(ReadOnlyInline):
    model = ProblemEvent
    fields = readonly_fields = ("at_local", "actor", "kind", "summary")

    @admin.display(description=in_zone(_("at")))
    def at_local(self, obj: ProblemEvent) -> str:
        return local_short(obj.at)

    @admin.display(description=_("detail"))
    def summary(self, obj: ProblemEvent) -> str:
        return event_summary(obj.detail)


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = (
        "title", "status_badge", "responsible_unit", "owner", "deadline_local", "opened_local",
    )  # fmt: skip
    list_filter = (
        "status", ("responsible_unit", admin.RelatedOnlyFieldListFilter), "source",
        OverdueProblemFilter,
    )  # fmt: skip
    search_fields = ("title", "plan", "responsible_unit__name")
    list_select_related = ("responsible_unit", "owner")
    raw_id_fields = ("cases", "owner", "responsible_unit", "place_unit")
    actions = ("start_rectifying", "mark_rectified", "close_not_verified", "reopen")
    inlines = (ProblemActionInline, ProblemEventInline)
    status_badge = badge_column("status", STATUS_COLOURS, _("status"))
    fieldsets = (
        (None, {"fields": ("title", "status", "moves", "source", "opened_summary")}),
        (_("Where"), {"fields": ("reason", "place_unit", "touchpoint", "region", "cases")}),
        (_("Responsibility"), {"fields": ("responsible_unit", "owner", "deadline", "plan")}),
        (_("Verification"), {"fields": ("verification", "closing")}),
    )
    readonly_fields = ("status", "moves", "source", "opened_summary", "verification", "closing")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a problem and its history stay on the record; close it instead

    def get_queryset(self, request: HttpRequest) -> QuerySet[Problem]:
        # followups.roles.unit_scope, the one rule: supervisors all, unit owners their subtrees
        scope = unit_scope(staff(request))
        found = super().get_queryset(request)
        return found if scope is None else found.filter(responsible_unit__in=scope)

    def get_urls(self) -> list[URLPattern]:
        move = path(
            "<int:problem_id>/move/<str:step>/",
            self.admin_site.admin_view(self.move_view),
            name="followups_problem_move",
        )
        return [move, *super().get_urls()]

    def move_view(self, request: HttpRequest, problem_id: int, step: str) -> HttpResponse:
        problem = get_object_or_404(self.get_queryset(request), pk=problem_id)
        if not self.has_change_permission(request, problem):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])  # a move is a POST from the page's buttons
        back = redirect("admin:followups_problem_change", problem_id)
        if step not in MOVES:
            return back
        label, service, _statuses = MOVES[step]
        try:
            service(problem, by=staff(request))
        except ProblemRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            self.message_user(request, _("Done: %(move)s.") % {"move": label}, messages.SUCCESS)
        return back

    @admin.display(description=_("next steps"))
    def moves(self, obj: Problem) -> SafeString | str:
        if obj.pk is None:
            return "—"
        offered = [
            (reverse("admin:followups_problem_move", args=[obj.pk, step]), label)
            for step, (label, _service, statuses) in MOVES.items()
            if obj.status in statuses
            and (step != "close_verified" or obj.close_proposed_at is not None)
        ]
        return format_html_join(
            " ",
            '<button type="submit" class="button" formmethod="post" formaction="{}">{}</button>',
            offered,
        )

    @admin.display(description=in_zone(_("deadline")), ordering="deadline")
    def deadline_local(self, obj: Problem) -> SafeString | str:
        shown = local_short(obj.deadline)
        if obj.status != ProblemStatus.CLOSED and obj.deadline < timezone.now():
            return format_html("{} {}", shown, badge(_("Overdue"), RED))
        return shown

    @admin.display(description=in_zone(_("opened")), ordering="opened_at")
    def opened_local(self, obj: Problem) -> str:
        return local_short(obj.opened_at)

    @admin.display(description=_("opened"))
    def opened_summary(self, obj: Problem) -> str:
        if obj.pk is None:
            return "—"
        by = obj.opened_by or obj.get_source_display()
        return _("%(at)s by %(by)s") % {"at": local_time(obj.opened_at), "by": by}

    @admin.display(description=_("before and after the fix"))
    def verification(self, obj: Problem) -> SafeString:
        proposed = (
            badge(_("Closure proposed %(at)s") % {"at": local_time(obj.close_proposed_at)}, GREEN)
            if obj.close_proposed_at
            else _("Closure not proposed")
        )
        rows = [
            (_("rectified at"), local_time(obj.fixed_at)),
            (_("detractor share before"), share_text(obj.before_detractors, obj.before_answers)),
            (_("detractor share after"), share_text(obj.after_detractors, obj.after_answers)),
            (_("p-value (one-sided)"), "—" if obj.p_value is None else f"{obj.p_value:.4f}"),
            (_("last verified at"), local_time(obj.verified_at)),
            (_("closure"), proposed),
        ]
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", rows)

    @admin.display(description=_("closed"))
    def closing(self, obj: Problem) -> str:
        if obj.closed_at is None:
            return "—"
        verdict = _("verified") if obj.closed_verified else _("not verified")
        return _("%(at)s by %(by)s, %(verdict)s") % {
            "at": local_time(obj.closed_at), "by": obj.closed_by, "verdict": verdict,
        }  # fmt: skip

    def save_model(self, request: HttpRequest, obj: Problem, form: ModelForm, change: bool) -> None:
        if change:
            fields = [name for name in form.changed_data if name != "cases"]
            problems.problem_edit(obj, by=staff(request), fields=fields)
            return
        opened = problems.problem_open(
            title=obj.title, responsible_unit=obj.responsible_unit, reason=obj.reason,
            place_unit=obj.place_unit, touchpoint=obj.touchpoint, region=obj.region,
            owner=obj.owner, opened_by=staff(request), deadline=obj.deadline,
        )  # fmt: skip
        if obj.plan:
            problems.problem_plan_set(opened, by=staff(request), plan=obj.plan)
        obj.pk, obj.opened_at, obj.status = opened.pk, opened.opened_at, opened.status

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ProblemAction:
            super().save_formset(request, form, formset, change)
            return
        problem, added = form.instance, []
        # the admin's change message reads these three lists
        formset.changed_objects, formset.deleted_objects = [], []
        for action_form in formset.forms:
            if not action_form.has_changed() or not action_form.cleaned_data.get("text"):
                continue
            data, action = action_form.cleaned_data, action_form.instance
            if action.pk is None:
                action = problems.problem_action_add(
                    problem, by=staff(request), text=data["text"], assignee=data["assignee"],
                    due_at=data["due_at"],
                )  # fmt: skip
                added.append(action)
            if data.get("mark_done"):
                problems.problem_action_done(action, by=staff(request))
        formset.new_objects = added

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Problem], service: Callable[..., None]
    ) -> None:
        done = refused = 0
        for problem in queryset:
            try:
                service(problem, by=staff(request))
                done += 1
            except ProblemRefused:
                refused += 1
        text = _("%(done)d changed, %(refused)d refused by their status.") % {
            "done": done, "refused": refused,
        }  # fmt: skip
        self.message_user(request, text, messages.WARNING if refused else messages.SUCCESS)

    @admin.action(description=_("Start rectifying"), permissions=["change"])
    def start_rectifying(self, request: HttpRequest, queryset: QuerySet[Problem]) -> None:
        self._each(request, queryset, problems.problem_rectifying_start)

    @admin.action(description=_("Mark rectified"), permissions=["change"])
    def mark_rectified(self, request: HttpRequest, queryset: QuerySet[Problem]) -> None:
        self._each(request, queryset, problems.problem_rectified)

    @admin.action(description=_("Close, not verified"), permissions=["change"])
    def close_not_verified(self, request: HttpRequest, queryset: QuerySet[Problem]) -> None:
        self._each(request, queryset, _close_unverified)

    @admin.action(description=_("Reopen"), permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[Problem]) -> None:
        self._each(request, queryset, problems.problem_reopen)


@admin.register(AccountabilityEntry)
class AccountabilityEntryAdmin(admin.ModelAdmin):
    list_display = ("created_local", "unit", "person", "problem", "finding_short", "created_by")
    list_filter = (("unit", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("finding", "measure", "unit__name", "problem__title")
    list_select_related = ("unit", "person", "problem", "created_by")
    raw_id_fields = ("problem", "unit", "person")
    fields = ("problem", "unit", "person", "finding", "measure", "created_local", "created_by")
    readonly_fields = ("created_local", "created_by")

    @admin.display(description=in_zone(_("created at")), ordering="created_at")
    def created_local(self, obj: AccountabilityEntry) -> str:
        return local_short(obj.created_at) if obj.pk else "—"

    @admin.display(description=_("finding"))
    def finding_short(self, obj: AccountabilityEntry) -> str:
        return obj.finding[:80]

    def save_model(
        self, request: HttpRequest, obj: AccountabilityEntry, form: ModelForm, change: bool
    ) -> None:
        if change:
            obj.save(update_fields=list(form.changed_data))  # the measure, later
            return
        problems.accountability_record(obj, by=staff(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a finding stays on the record

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccountabilityEntry]:
        scope = unit_scope(staff(request))  # as the problems: unit owners their subtrees
        found = super().get_queryset(request)
        return found if scope is None else found.filter(unit__in=scope)
