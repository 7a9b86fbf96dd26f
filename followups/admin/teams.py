"""Admin for who works cases: teams, routing rules, holidays and agents.

An agent's availability changes only through followups.assignment (agent_set_away hands
their open cases back; agent_set_back queues waiting ones): the "Mark away" and "Mark
back" actions call it, and so does saving the agent form with "available" changed.
"""

from datetime import time
from typing import Any, ClassVar, cast
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from followups.assignment import agent_set_away, agent_set_back
from followups.models import OPEN_STATUSES, Agent, Holiday, RoutingRule, Team
from followups.models.teams import SpokenLanguage, all_week, default_time_zone, mandarin_only
from followups.shifts import on_shift

OPEN_CASES = Q(cases__status__in=OPEN_STATUSES)
ANY = _("any")


class RegionsField(forms.CharField):
    """A JSON list of region codes, typed as "BJ, SH"."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    # A text field whose Python value is a list: the override changes the return type.
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [code.strip() for code in text.replace(";", ",").split(",") if code.strip()]


class WorkDaysField(forms.TypedMultipleChoiceField):
    """Working days as weekday tick boxes, stored as a list of 0 (Monday) … 6 (Sunday)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=list(WEEKDAYS_ABBR.items()),
            coerce=int,
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )


class LanguagesField(forms.TypedMultipleChoiceField):
    """Languages an agent speaks as tick boxes, stored as a list of language codes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=SpokenLanguage.choices,
            widget=forms.CheckboxSelectMultiple,
            label=_("languages spoken"),
            required=False,
            initial=mandarin_only,
            help_text=_(
                "A Tibetan or English customer's case goes to a speaker when one can take it."
            ),
            **kwargs,
        )


def languages_label(languages: list[str]) -> str:
    return ", ".join(
        str(SpokenLanguage(code).label) if code in SpokenLanguage.values else code
        for code in languages
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class TimeZoneField(forms.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=time_zone_choices, **kwargs)


def days_label(work_days: list[int]) -> str:
    return " ".join(str(WEEKDAYS_ABBR.get(day, day)) for day in sorted(work_days)) or "—"


def hours_label(start: time, end: time) -> str:
    """ "08:00–20:00"; a window into the next day "20:00–08:00 (+1)"; equal ends "24 h"."""
    if start == end:
        return str(_("24 h"))
    return f"{start:%H:%M}–{end:%H:%M}" + (" (+1)" if end < start else "")


class TeamForm(ModelForm):
    regions = RegionsField(
        label=_("regions covered"),
        required=False,
        help_text=_(
            "Region codes separated by commas, e.g. BJ, SH. Empty: the team gets cases only "
            "from routing rules (or as the default route). Routing rules are checked first."
        ),
    )
    time_zone = TimeZoneField(label=_("time zone"), initial=default_time_zone)
    work_days = WorkDaysField(label=_("working days"), initial=all_week)

    class Meta:
        model = Team
        fields = ("name", "regions")


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    fields = ("order", "name", "region", "tier", "touchpoint", "is_active")
    ordering = ("order", "id")
    verbose_name_plural = _("routing rules sending cases to this team (lowest order first)")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name", "is_working_day", "day_start", "day_end")


class AgentInlineForm(ModelForm):
    languages = LanguagesField()

    class Meta:
        model = Agent
        fields = ("name",)


class AgentInline(admin.TabularInline):
    model = Agent
    form = AgentInlineForm
    extra = 0
    fields = ("name", "user", "capacity", "languages", "dialects", "is_available")
    readonly_fields = ("is_available",)  # changed through "Mark away" / "Mark back"
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    inlines = (RoutingRuleInline, HolidayInline, AgentInline)
    list_display = (
        "name", "regions_label", "is_default_route", "rule_count", "policy", "lead",
        "hours_label", "agent_count", "open_cases",
    )  # fmt: skip
    list_filter = ("policy", "is_default_route")
    list_select_related = ("lead",)

    class Media:
        css: ClassVar = {"all": ("followups/teams.css",)}

    search_fields = ("name",)
    autocomplete_fields = ("lead",)
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "lead", "policy")}),
        (_("Coverage"), {"fields": ("regions", "is_default_route")}),
        (
            _(
                "Business hours (SLA clocks run only inside them; an end at or before the "
                "start is the next day, equal start and end: open 24 hours)"
            ),
            {"fields": ("time_zone", "work_days", "day_start", "day_end")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                agent_count=Count("agents", distinct=True),
                open_cases=Count("cases", filter=OPEN_CASES, distinct=True),
                rule_count=Count("rules", filter=Q(rules__is_active=True), distinct=True),
            )
        )

    @admin.display(description=_("regions covered"))
    def regions_label(self, obj: Team) -> str:
        return ", ".join(obj.regions) or "—"

    @admin.display(description=_("active rules"), ordering="rule_count")
    def rule_count(self, obj: Team) -> int:
        return obj.rule_count  # type: ignore[attr-defined]

    @admin.display(description=_("business hours"))
    def hours_label(self, obj: Team) -> str:
        return f"{hours_label(obj.day_start, obj.day_end)} {days_label(obj.work_days)}"

    @admin.display(description=_("agents"), ordering="agent_count")
    def agent_count(self, obj: Team) -> int:
        return obj.agent_count  # type: ignore[attr-defined]

    @admin.display(description=_("open cases"), ordering="open_cases")
    def open_cases(self, obj: Team) -> int:
        return obj.open_cases  # type: ignore[attr-defined]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "rule_label", "order", "region_label", "tier_label", "touchpoint_label", "team",
        "is_active",
    )  # fmt: skip
    list_display_links = ("rule_label",)
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "team", "tier", "touchpoint")
    list_select_related = ("team",)
    search_fields = ("name", "region", "team__name")
    autocomplete_fields = ("team",)
    ordering = ("order", "id")
    fields = ("order", "name", "region", "tier", "touchpoint", "team", "is_active")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        explanation = _(
            "Rules are checked from the lowest order up; the first active rule whose "
            "conditions all hold sends the case to its team (“any” matches everything). "
            "When no rule holds, the team whose regions include the customer's takes it, "
            "else the team marked as the default route; with none, the case waits unrouted."
        )
        return super().changelist_view(request, {"subtitle": explanation, **(extra_context or {})})

    @admin.display(description=_("rule"), ordering="name")
    def rule_label(self, obj: RoutingRule) -> str:
        return obj.name or _("Rule #%(pk)s") % {"pk": obj.pk}

    @admin.display(description=_("region"), ordering="region")
    def region_label(self, obj: RoutingRule) -> str:
        return obj.region or str(ANY)

    @admin.display(description=_("value tier"), ordering="tier")
    def tier_label(self, obj: RoutingRule) -> str:
        return obj.get_tier_display() if obj.tier else str(ANY)

    @admin.display(description=_("touchpoint"), ordering="touchpoint")
    def touchpoint_label(self, obj: RoutingRule) -> str:
        return obj.get_touchpoint_display() if obj.touchpoint else str(ANY)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "team_label", "is_working_day", "hours")
    list_filter = ("is_working_day", "team")
    list_select_related = ("team",)
    search_fields = ("name",)
    date_hierarchy = "date"
    autocomplete_fields = ("team",)

    @admin.display(description=_("team"), ordering="team__name")
    def team_label(self, obj: Holiday) -> str:
        return obj.team.name if obj.team else str(_("All teams"))

    @admin.display(description=_("business hours"))
    def hours(self, obj: Holiday) -> str:
        if not obj.is_working_day:
            return "—"
        if obj.day_start is None or obj.day_end is None:
            return str(_("the team's hours"))
        return hours_label(obj.day_start, obj.day_end)


class AgentForm(ModelForm):
    time_zone = TimeZoneField(label=_("time zone"), initial=default_time_zone)
    work_days = WorkDaysField(label=_("working days"), initial=all_week)
    languages = LanguagesField()

    class Meta:
        model = Agent
        fields = ("name",)


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = (
        "name", "team", "user", "capacity", "open_load", "working_now", "shift_label",
        "languages_spoken", "is_available",
    )  # fmt: skip
    list_filter = ("is_available", "team")
    search_fields = ("name", "user__username", "team__name", "dialects")
    list_select_related = ("team", "user")
    autocomplete_fields = ("user", "team")
    ordering = ("team__name", "name")
    actions = ("mark_away", "mark_back")
    fieldsets = (
        (None, {"fields": ("name", "user", "team", "capacity", "is_available", "open_load")}),
        (
            _("Shift (in the agent's time zone)"),
            {"fields": ("time_zone", "work_days", "shift_start", "shift_end", "working_now")},
        ),
        (_("Languages"), {"fields": ("languages", "dialects")}),
    )
    readonly_fields = ("open_load", "working_now")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return super().get_queryset(request).annotate(open_load=Count("cases", filter=OPEN_CASES))

    @admin.display(description=_("open cases"), ordering="open_load")
    def open_load(self, obj: Agent) -> int:
        return getattr(obj, "open_load", 0)

    @admin.display(boolean=True, description=_("working now"))
    def working_now(self, obj: Agent) -> bool:
        return on_shift(obj, timezone.now())

    @admin.display(description=_("languages spoken"))
    def languages_spoken(self, obj: Agent) -> str:
        label = languages_label(obj.languages)
        return f"{label} ({obj.dialects})" if obj.dialects else label or "—"

    @admin.display(description=_("shift"))
    def shift_label(self, obj: Agent) -> str:
        hours = (
            _("all day")
            if obj.shift_start == obj.shift_end
            else f"{obj.shift_start:%H:%M}–{obj.shift_end:%H:%M}"
        )
        return f"{hours} {days_label(obj.work_days)} ({obj.time_zone})"

    def save_model(self, request: HttpRequest, obj: Agent, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_available" in form.changed_data:  # availability goes through a service
            if obj.is_available:
                agent_set_back(agent_id=obj.pk)
            else:
                # The admin serves only logged-in staff: never the anonymous user.
                actor = cast(User, request.user)
                handed = agent_set_away(agent_id=obj.pk, actor=actor)
                self.message_user(request, self.handed_back_text(handed), messages.INFO)

    @staticmethod
    def handed_back_text(count: int) -> str:
        return ngettext(
            "%(count)d open case handed back for reassignment.",
            "%(count)d open cases handed back for reassignment.",
            count,
        ) % {"count": count}

    @admin.action(description=_("Mark away (reassign open cases)"), permissions=["change"])
    def mark_away(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        pks = list(queryset.values_list("pk", flat=True))
        actor = cast(User, request.user)  # the admin serves only logged-in staff
        handed = sum(agent_set_away(agent_id=pk, actor=actor) for pk in pks)
        text = _("%(agents)d agent(s) marked away.") % {"agents": len(pks)}
        self.message_user(request, f"{text} {self.handed_back_text(handed)}", messages.SUCCESS)

    @admin.action(description=_("Mark back"), permissions=["change"])
    def mark_back(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        pks = list(queryset.values_list("pk", flat=True))
        queued = sum(agent_set_back(agent_id=pk) for pk in pks)
        text = _("%(agents)d agent(s) marked back; %(queued)d waiting case(s) queued.") % {
            "agents": len(pks),
            "queued": queued,
        }
        self.message_user(request, text, messages.SUCCESS)
