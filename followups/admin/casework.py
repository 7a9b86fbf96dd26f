"""Working cases from the admin: an agent's "My cases", the small work forms, bulk actions.

Each form and action calls one followups.workflow service and goes back with a message;
which forms a case offers follows from its status (followups.workflow.work_available).
"""

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from followups import handover, workflow
from followups.admin.teams import time_zone_choices
from followups.models import (
    OPEN_STATUSES,
    Agent,
    Case,
    ContactChannel,
    ContactOutcome,
    HoldReason,
    Priority,
    StaffProfile,
    Team,
)
from followups.permissions import can_change_priority, sees_only_own_cases
from followups.queries import cases_assigned_to
from followups.timezones import due_words, local_time, staff_time_zone_set
from followups.workflow import TransitionNotAllowed, work_available
from surveys.models import ReasonCategory


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=ContactChannel.choices)
    outcome = forms.ChoiceField(label=_("outcome"), choices=ContactOutcome.choices)
    note = forms.CharField(
        label=_("note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


def root_cause_field(*, required: bool) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("root causes"),
        queryset=ReasonCategory.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=required,
        help_text=_("Proposed from the reasons the customer gave; tick every one that applies."),
    )


class ResolveForm(forms.Form):
    root_causes = root_cause_field(required=True)
    action_taken = forms.CharField(label=_("action taken"), max_length=200)
    note = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 3}))


class CallForm(forms.Form):
    """One call: how it went and, when the customer was reached and the problem is solved,
    the resolution (followups.workflow.case_call_log)."""

    channel = forms.ChoiceField(label=_("channel"), choices=ContactChannel.choices)
    outcome = forms.ChoiceField(label=_("outcome"), choices=ContactOutcome.choices)
    note = forms.CharField(
        label=_("note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    solved = forms.BooleanField(label=_("Reached and solved: resolve the case"), required=False)
    root_causes = root_cause_field(required=False)
    action_taken = forms.CharField(label=_("action taken"), max_length=200, required=False)


def proposed_root_causes(case: Case) -> list[int]:
    """The root causes a resolution starts from: the reasons of the customer's reply."""
    return [reason.pk for reason in case.response.reasons.all()]


def work_form(work: "Work", case: Case, data: Any = None, auto_id: str = "id_%s") -> forms.Form:
    """The step's form, its root causes proposed from the reply."""
    initial = {}
    if "root_causes" in work.form.base_fields:
        initial["root_causes"] = proposed_root_causes(case)
    return work.form(data, initial=initial, auto_id=auto_id)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("priority"), choices=Priority.choices)
    reason = forms.CharField(label=_("reason"), max_length=200)


class HoldForm(forms.Form):
    reason = forms.ChoiceField(label=_("reason"), choices=HoldReason.choices)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class ResumeForm(forms.Form):
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class LocalDateTimeField(forms.DateTimeField):
    """The time as typed (naive): the service reads it in the zone of the case's agent."""

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)
        return timezone.make_naive(moment) if moment is not None else None


class AppointmentForm(forms.Form):
    at = LocalDateTimeField(
        label=_("call back at"),
        help_text=_("In the time zone of the case's agent."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("time zone"),
        choices=lambda: [("", _("My team's time zone")), *time_zone_choices()],
        required=False,
    )


class TransferForm(forms.Form):
    agent = forms.ModelChoiceField(
        label=_("to agent"),
        queryset=Agent.objects.select_related("team").order_by("team__name", "name"),
        required=False,
    )
    team = forms.ModelChoiceField(
        label=_("or to team"), queryset=Team.objects.order_by("name"), required=False
    )
    reason = forms.CharField(label=_("reason"), max_length=200)
    override_reason = forms.CharField(
        label=_("override reason"),
        max_length=200,
        required=False,
        help_text=_("Team leads: give the case to an agent who cannot take it now."),
    )


def may_hold(case: Case) -> bool:
    return case.status in OPEN_STATUSES and case.held_since is None


def may_resume(case: Case) -> bool:
    return case.held_since is not None


def is_open(case: Case) -> bool:
    return case.status in OPEN_STATUSES


class Work(NamedTuple):
    """One small form on a case: what it is called, what it needs, which service it calls."""

    kind: str  # from followups.workflow.work_available
    title: Any
    form: type[forms.Form]
    service: Callable[..., Any]
    done: Any
    allowed: Callable[..., bool] | None = None  # (user, case): a rule beyond changing the case


WORK = {
    "call": Work(
        "attempt", _("Log the call"), CallForm, workflow.case_call_log,
        _("Call logged on case #%(case)s."),
    ),
    "attempt": Work(
        "attempt", _("Log attempt"), AttemptForm, workflow.case_attempt_log,
        _("Attempt logged on case #%(case)s."),
    ),
    "resolve": Work(
        "resolved", _("Resolve"), ResolveForm, workflow.case_resolve,
        _("Case #%(case)s resolved."),
    ),
    "unreachable": Work(
        "unreachable", _("Mark unreachable"), ReasonForm, workflow.case_mark_unreachable,
        _("Case #%(case)s marked unreachable."),
    ),
    "close": Work(
        "closed", _("Close"), ReasonForm, workflow.case_close, _("Case #%(case)s closed."),
    ),
    "reopen": Work(
        "reopened", _("Reopen"), ReasonForm, workflow.case_reopen,
        _("Case #%(case)s reopened."),
    ),
    # Not a status move: offered on the case page to those can_change_priority allows.
    "priority": Work(
        "priority_changed", _("Change priority"), PriorityForm, workflow.case_priority_change,
        _("Case #%(case)s priority changed."), can_change_priority,
    ),
    # Not status moves either: waiting for the customer, a booked callback, a handover.
    "hold": Work(
        "held", _("Put on hold"), HoldForm, handover.case_hold,
        _("Case #%(case)s is on hold."),
    ),
    "resume": Work(
        "resumed", _("Resume"), ResumeForm, handover.case_resume,
        _("Case #%(case)s resumed."),
    ),
    "appointment": Work(
        "appointment_booked", _("Book a callback"), AppointmentForm,
        handover.case_appointment_book, _("Callback booked on case #%(case)s."),
    ),
    "transfer": Work(
        "transferred", _("Transfer"), TransferForm, handover.case_transfer,
        _("Case #%(case)s transferred."),
    ),
}  # fmt: skip
# Which of them the case page offers, by the case's state (the services check it again).
HANDOVER_STEPS = {"hold": may_hold, "resume": may_resume, "appointment": is_open,
                  "transfer": is_open}  # fmt: skip
# The case page's work buttons: the call form logs attempts, so no separate one.
CASE_PAGE_STEPS = [step for step in WORK if step != "attempt" and step not in HANDOVER_STEPS]


def work_links(case: Case, steps: Iterable[str], back: str = "") -> list[tuple[str, Any]]:
    """(url, title) of each work form the case accepts in its status."""
    allowed = work_available(case.status)
    query = "?" + urlencode({"next": back}) if back else ""
    return [
        (reverse(f"admin:followups_case_{step}", args=[case.pk]) + query, WORK[step].title)
        for step in steps
        if WORK[step].kind in allowed
    ]


class CallCard(NamedTuple):
    """One case on My cases: what the call needs, its due time, and the call form."""

    case: Case
    due: str  # local, zone named
    due_in: str  # "due in 1 h 50 min", "overdue by 20 min"
    urgency: str  # overdue, soon, later, held (followups.timezones.due_words)
    reasons: list[str]
    earlier: list[str]  # the customer's earlier answers and cases
    touched: str  # when the interaction surveyed took place, local
    form: forms.Form | None
    call_url: str


def customer_earlier(case: Case, *, limit: int = 3) -> list[str]:
    """The customer's other answers and cases, newest first (prefetched by My cases)."""
    responses = [r for r in case.customer.responses.all() if r.pk != case.response_id]
    cases = [c for c in case.customer.cases.all() if c.pk != case.pk]
    lines = [
        (r.created_at, _("%(when)s: answered %(score)d / 10") % {
            "when": local_date(r.created_at), "score": r.score})
        for r in responses
    ] + [
        (c.opened_at, _("%(when)s: case #%(case)d, %(status)s") % {
            "when": local_date(c.opened_at), "case": c.pk, "status": c.get_status_display()})
        for c in cases
    ]  # fmt: skip
    return [text for _at, text in sorted(lines, key=lambda line: line[0], reverse=True)[:limit]]


def local_date(moment: Any) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def call_card(case: Case, *, now: Any, causes: list[tuple[int, str]]) -> CallCard:
    """The card of one case; `causes` (the active root causes, read once) for its form."""
    text, urgency = due_words(case, now=now)
    form = None
    if WORK["call"].kind in work_available(case.status):
        form = work_form(WORK["call"], case, auto_id=f"id_{case.pk}_%s")
        form.fields["root_causes"].widget.choices = causes  # one query for the whole list
    back = reverse("admin:followups_case_mine")
    return CallCard(
        case=case,
        due=local_time(getattr(case, "due_at", None)),
        due_in=text,
        urgency=urgency,
        reasons=[str(reason) for reason in case.response.reasons.all()],
        earlier=customer_earlier(case),
        touched=local_time(case.response.interaction.occurred_at),
        form=form,
        call_url=reverse("admin:followups_case_call", args=[case.pk])
        + "?"
        + urlencode({"next": back}),
    )


class CaseWorkAdmin(admin.ModelAdmin):
    """The case admin's work views and actions; the rows come from its scoped get_queryset."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # An agent's first screen is their work list; any filter shows the full list.
        if request.method == "GET" and not request.GET and sees_only_own_cases(request.user):
            return redirect("admin:followups_case_mine")
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        steps = [
            path(f"<int:case_id>/{step}/", view(self.work_view), {"step": step},
                 name=f"followups_case_{step}")
            for step in WORK
        ]  # fmt: skip
        mine = path("mine/", view(self.mine_view), name="followups_case_mine")
        zone = path("time-zone/", view(self.time_zone_view), name="followups_case_time_zone")
        return [mine, zone, *steps, *super().get_urls()]

    def time_zone_view(self, request: HttpRequest) -> HttpResponse:
        """The signed-in user's own time zone (blank: their team's)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        mine = StaffProfile.objects.filter(user=cast(User, request.user))
        chosen = mine.values_list("time_zone", flat=True)
        form = TimeZoneForm(
            request.POST if request.method == "POST" else None,
            initial={"time_zone": chosen.first() or ""},
        )
        if form.is_valid():
            zone = staff_time_zone_set(request=request, time_zone=form.cleaned_data["time_zone"])
            self.message_user(request, _("Times are shown in %(zone)s.") % {"zone": zone})
            return redirect("admin:followups_case_mine")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": _("Your time zone"),
            "zone": timezone.get_current_timezone_name(),
        }
        return TemplateResponse(request, "admin/followups/case/time_zone.html", context)

    def mine_view(self, request: HttpRequest) -> HttpResponse:
        """The agent's open cases, overdue first: what a call needs, and the call form."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        cases = cases_assigned_to(request.user).select_related("response__interaction")
        cases = cases.prefetch_related(
            "response__reasons", "customer__responses", "customer__cases"
        )
        causes = [(c.pk, str(c)) for c in ReasonCategory.objects.filter(is_active=True)]
        cards = [call_card(case, now=now, causes=causes) for case in cases]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "cards": cards,
            "title": _("My cases"),
            "zone": timezone.get_current_timezone_name(),
        }
        return TemplateResponse(request, "admin/followups/case/my_cases.html", context)

    def work_view(self, request: HttpRequest, case_id: int, step: str) -> HttpResponse:
        """One small form that calls one workflow service, then goes back with a message."""
        work, case = WORK[step], self.get_object(request, str(case_id))
        if case is None or not self.has_change_permission(request, case):
            raise PermissionDenied
        if work.allowed is not None and not work.allowed(request.user, case):
            raise PermissionDenied
        back = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = ""
        form = work_form(work, case, request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                work.service(case_id=case.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, work.done % {"case": case.pk}, messages.SUCCESS)
                return redirect(back or "admin:followups_case_mine")
        context = {
            **self.admin_site.each_context(request),
            **{"opts": self.opts, "case": case, "form": form, "title": work.title, "back": back},
        }
        return TemplateResponse(request, "admin/followups/case/work_form.html", context)

    @admin.display(description=_("work on it"))
    def work(self, obj: Case) -> SafeString | str:
        back = reverse("admin:followups_case_change", args=[obj.pk])
        links = work_links(obj, CASE_PAGE_STEPS, back)
        button = '<a class="button" href="{}" style="margin-right:.5em">{}</a>'
        return format_html_join("", button, links) if links else "—"

    @admin.display(description=_("hold, callback, transfer"))
    def handover(self, obj: Case) -> SafeString | str:
        back = reverse("admin:followups_case_change", args=[obj.pk])
        query = "?" + urlencode({"next": back})
        links = [
            (reverse(f"admin:followups_case_{step}", args=[obj.pk]) + query, WORK[step].title)
            for step, offered in HANDOVER_STEPS.items()
            if offered(obj)
        ]
        button = '<a class="button" href="{}" style="margin-right:.5em">{}</a>'
        return format_html_join("", button, links) if links else "—"

    @admin.action(description=_("Mark in progress"), permissions=["change"])
    def mark_in_progress(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self.apply_to_each(
            request, queryset, workflow.case_start, _("%(done)d case(s) marked in progress.")
        )

    def apply_to_each(
        self, request: HttpRequest, queryset: QuerySet[Case], service: Callable[..., Any], done: Any
    ) -> None:
        """Call the service on each selected case; say how many moved and why others did not."""
        moved, refused = 0, []
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(case_id=pk, actor=request.user)
                moved += 1
            except TransitionNotAllowed as exc:
                refused.append(str(exc))
        self.message_user(
            request, done % {"done": moved}, messages.SUCCESS if moved else messages.WARNING
        )
        for text in refused[:10]:
            self.message_user(request, text, messages.WARNING)
