"""Alert rules and alerts in the admin: a rule form checked per kind, "Evaluate now", and the
alerts list (in the reader's zone) with acknowledge and resolve actions that call
nps.alerts. Permissions per role: /work/notes/perms/alerts.md (nps.*alertrule, nps.*alert)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from followups.roles import unit_scope
from followups.timezones import local_time
from nps import alert_messages, alerts
from nps.models import Alert, AlertKind, AlertMetric, AlertRule

HELP = {
    "kind": _(
        "Threshold: the figure is worse than the threshold. Significant drop: the NPS fell, or "
        "the detractor share rose, against the period before, more than chance explains. "
        "Surge: one reason's share of answers rose that way. SLA backlog: more cases past "
        "their SLA right now than the threshold."
    ),
    "metric": _(
        "Threshold: NPS, detractor share, a reason's share or a reason's detractors. Drop: "
        "NPS or detractor share. Surge: a reason's share. SLA backlog: cases past their SLA."
    ),
    "threshold": _(
        "Threshold and SLA backlog rules only. NPS: alert below it (e.g. 20). Shares: alert "
        "above it, in percent (e.g. 35). Counts: alert above it (e.g. 10)."
    ),
    "confidence": _(
        "Drops and surges: how sure the change must be, between 0.5 and 0.999. 0.95 means "
        "chance alone would raise a false alert about once in 20 checks of a steady place."
    ),
    "window_days": _(
        "The last this many days up to today, e.g. 1 for today, 7 for the last week. An alert "
        "is raised once per rule, place and window."
    ),
}


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "kind", "metric", "per", "unit", "touchpoint", "region", "reason",
            "threshold", "window_days", "baseline_days", "min_sample", "confidence",
            "open_problem", "recipients", "is_active",
        ]  # fmt: skip
        help_texts = HELP

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, metric = data.get("kind"), data.get("metric")
        if kind and metric and metric not in alerts.KIND_METRICS[AlertKind(kind)]:
            allowed = ", ".join(str(AlertMetric(m).label) for m in alerts.KIND_METRICS[kind])
            self.add_error("metric", _("This kind of rule watches: %(allowed)s.")
                           % {"allowed": allowed})  # fmt: skip
        if kind in (AlertKind.THRESHOLD, AlertKind.SLA_BACKLOG) and data.get("threshold") is None:
            self.add_error("threshold", _("Threshold and SLA backlog rules need a threshold."))
        confidence = data.get("confidence")
        if confidence is not None and not 0.5 < confidence < 0.999:
            self.add_error("confidence", _("Give a confidence between 0.5 and 0.999, e.g. 0.95."))
        if data.get("window_days") is not None and data["window_days"] < 1:
            self.add_error("window_days", _("A window is at least one day."))
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ("name", "kind", "metric", "per", "unit", "window_days", "is_active")
    list_filter = ("kind", "metric", "per", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("unit",)  # a tree of thousands of units
    list_select_related = ("unit",)
    actions = ("evaluate_now",)

    @admin.action(description=_("Evaluate now"), permissions=["change"])
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        raised = alerts.alerts_evaluate(rules=queryset.filter(is_active=True))
        text = ngettext("%(count)d new alert raised.", "%(count)d new alerts raised.",
                        len(raised)) % {"count": len(raised)}  # fmt: skip
        self.message_user(request, text, messages.SUCCESS)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("raised", "rule", "place", "figure", "p", "state", "problem_link")
    list_filter = ("state", "rule", "unit")
    list_select_related = ("rule", "unit", "reason", "problem")
    search_fields = ("rule__name", "key", "message")
    readonly_fields = (
        "rule", "key", "unit", "touchpoint", "region", "reason", "window_start", "window_end",
        "state", "value", "baseline", "p_value", "sample", "message", "raised",
        "acknowledged_at", "acknowledged_by", "resolved_at", "emailed_at", "problem_link",
    )  # fmt: skip
    exclude = ("problem", "raised_at")
    actions = ("acknowledge", "resolve")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        # followups.roles.unit_scope: supervisors every alert, unit owners those of their
        # units' subtrees (an alert per touchpoint or region has no unit: supervisors only)
        scope = unit_scope(request.user)
        found = super().get_queryset(request)
        return found if scope is None else found.filter(unit__in=scope)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by their rules only

    @admin.display(description=_("raised at"), ordering="raised_at")
    def raised(self, obj: Alert) -> str:
        return local_time(obj.raised_at)

    @admin.display(description=_("place"))
    def place(self, obj: Alert) -> str:
        return alert_messages.place_label(obj, alert_messages.Names.of(obj))

    @admin.display(description=_("figure (compared with)"))
    def figure(self, obj: Alert) -> str:
        metric = obj.rule.metric
        now = alert_messages.figure_text(metric, obj.value)
        if obj.baseline is None:
            return now
        return f"{now} ({alert_messages.figure_text(metric, obj.baseline)})"

    @admin.display(description=_("p-value"), ordering="p_value")
    def p(self, obj: Alert) -> str:
        return "—" if obj.p_value is None else f"{obj.p_value:.4f}"

    @admin.display(description=_("problem"))
    def problem_link(self, obj: Alert) -> str:
        if obj.problem_id is None:
            return "—"
        try:
            url = reverse("admin:followups_problem_change", args=[obj.problem_id])
        except NoReverseMatch:  # the problems' admin is not installed
            return f"#{obj.problem_id}"
        return format_html('<a href="{}">#{}</a>', url, obj.problem_id)

    @admin.action(description=_("Acknowledge"), permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = [a for a in queryset if alerts.alert_acknowledge(alert=a, by=request.user)]
        for alert in done:
            self.log_change(request, alert, [{"changed": {"fields": ["state"]}}])
        self.message_user(request, ngettext(
            "%(count)d alert acknowledged.", "%(count)d alerts acknowledged.", len(done)
        ) % {"count": len(done)}, messages.SUCCESS)  # fmt: skip

    @admin.action(description=_("Resolve"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = [a for a in queryset if alerts.alert_resolve(alert=a, by=request.user)]
        for alert in done:  # who resolved: the change history (LogEntry) records the user
            self.log_change(request, alert, [{"changed": {"fields": ["state"]}}])
        self.message_user(request, ngettext(
            "%(count)d alert resolved.", "%(count)d alerts resolved.", len(done)
        ) % {"count": len(done)}, messages.SUCCESS)  # fmt: skip
