"""The dashboard's filters: read from the query string (so a view can be shared as a URL).

A period is a preset (the last 7, 30 or 90 local days, or the current calendar quarter
to date) or explicit start and end dates, which win over the preset. The comparison
period is the same number of days just before. Choices are limited to what the user may
see: a team lead gets only the teams they lead (and `Filters.team_scope` says so).
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Value
from django.http import QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from followups.models import Team
from nps.models import NpsDaily
from nps.reporting.contract import Filters
from nps.reporting.days import local_today
from nps.reporting.queries import rollup_rows, union_all, unit_filter
from nps.reporting.refresh import rollups_stamp
from surveys.models import Tier, Touchpoint
from surveys.units import units_in_tree_order

PRESETS = (
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("quarter", _("This quarter")),
)
DEFAULT_PRESET = "30"
# Shown in the Period control when explicit dates are in force (they win over a preset).
DATES = ("", _("The dates below"))
ALL = ("", _("All"))
# Filters whose choices are the values found in the rollups (free text in the CRM).
OBSERVED = ("channel", "business_type", "region", "agent")
OBSERVED_MOST = 500  # values offered in a filter's list


def preset_period(preset: str, today: date) -> tuple[date, date]:
    if preset == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    return today - timedelta(days=int(preset) - 1), today


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before start."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _attrs_html(attrs: dict[str, Any]) -> SafeString:
    """A widget's attributes as django/forms/widgets/attrs.html writes them."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class QuickSelect(forms.Select):
    """Django's Select, its markup written here instead of by a template render per option
    (the agents' list has hundreds): the same HTML as Django's templates give, blank lines
    included (a test compares them)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), _attrs_html(widget["attrs"])]
        parts.append(mark_safe(">"))
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n',
                        f"{option['value']}",
                        _attrs_html(option["attrs"]),
                        option["label"],
                    )
                )
            if group_name:
                parts.append(mark_safe("\n  </optgroup>"))
        parts.append(mark_safe("\n</select>"))
        return mark_safe("".join(parts))  # noqa: S308 (every part above is escaped)


def _select(label: Any, **kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, widget=QuickSelect, **kwargs)


def _typed_select(label: Any, **kwargs: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, required=False, coerce=int, empty_value=None, widget=QuickSelect, **kwargs
    )


class FilterForm(forms.Form):
    preset = _select(_("Period"), choices=[*PRESETS, DATES])
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    touchpoint = _select(_("Touchpoint"))
    channel = _select(_("Channel"))
    business_type = _select(_("Business type"))
    region = _select(_("Region"))
    tier = _select(_("Value tier"))
    team = _typed_select(_("Team"))
    agent = _select(_("Service staff"))
    unit = _typed_select(_("Unit"), help_text=_("The unit and every unit under it."))

    def __init__(self, data: QueryDict, *, teams: list[Team]) -> None:
        super().__init__(data)
        # Indented by depth (no-break spaces: a browser keeps them in an option).
        units = units_in_tree_order(active_only=True)
        self._choices_set("unit", [ALL, *((pk, "\u00a0\u00a0" * d + n) for pk, d, n in units)])
        self._choices_set("touchpoint", [ALL, *Touchpoint.choices])
        self._choices_set("tier", [ALL, *Tier.choices])
        self._choices_set("team", [ALL, *((t.pk, t.name) for t in teams)])
        self.observed_set({})

    def observed_set(self, observed: dict[str, list[str]]) -> None:
        """Offer the values found in the data, and always the one asked for in the URL."""
        for name in OBSERVED:
            values = set(observed.get(name, [])) | {self.data.get(name, "")}
            self._choices_set(name, [ALL, *((v, v) for v in sorted(values - {""}))])

    def _choices_set(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        if not isinstance(field, forms.ChoiceField):
            raise TypeError(f"{name} is not a choice field")
        field.choices = choices

    def period_show(self, period: "Period") -> None:
        """Show the period in force in the Period control: the preset used (the default when
        none was asked for), or "the dates below" when explicit dates win, so that Apply
        without changes keeps the period."""
        data = dict(self.data.items())  # the last value of each parameter, as the form reads
        data["preset"] = period.preset
        if period.preset:  # a preset in force: the dates it stands for are not in the URL
            data.pop("start", None)
            data.pop("end", None)
        self.data = data

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        return data


@dataclass(frozen=True)
class Period:
    filters: Filters
    previous: Filters
    preset: str  # "" for explicit dates

    @property
    def days(self) -> int:
        return (self.filters.end - self.filters.start).days + 1


def _dates(start: date | None, end: date | None, today: date) -> tuple[date, date] | None:
    """The dates asked for, a missing one filled in from the other; None if neither is."""
    if start and end:
        return start, end
    if end:
        return end - timedelta(days=int(DEFAULT_PRESET) - 1), end
    if start:
        return start, max(start, today)
    return None


def period_filters(
    form: FilterForm, *, team_scope: tuple[int, ...] | None, today: date | None = None
) -> Period:
    """Filters from the valid fields of a bound form; an invalid field counts as unset."""
    form.is_valid()
    data = form.cleaned_data
    today = today or local_today()
    dates = None if "end" in form.errors else _dates(data.get("start"), data.get("end"), today)
    preset = ""
    if dates is None:
        preset = data.get("preset") or DEFAULT_PRESET
        dates = preset_period(preset, today)
    start, end = dates
    filters = Filters(
        start=start,
        end=end,
        touchpoint=data.get("touchpoint") or "",
        channel=data.get("channel") or "",
        business_type=data.get("business_type") or "",
        region=data.get("region") or "",
        tier=data.get("tier") or "",
        team_id=data.get("team"),
        agent=data.get("agent") or "",
        units=unit_filter(data.get("unit")),
        team_scope=team_scope,
    )
    before_start, before_end = previous_period(start, end)
    return Period(filters, replace(filters, start=before_start, end=before_end), preset)


def observed_values(start: date, end: date, team_scope: tuple[int, ...] | None) -> dict:
    """The channels, business types, regions and agents present in the period, at most
    OBSERVED_MOST of each (1 query, or none: kept in the cache until the next rollup refresh
    or for NPS_ROLLUP_REFRESH_SECONDS, whichever comes first; so at most one refresh old).

    The query costs tens of milliseconds whatever the filters (the distinct agents of the
    period), the same for every page of the period until the rollups change."""
    scope = "all" if team_scope is None else ",".join(map(str, sorted(team_scope)))
    key = f"nps.dashboard.observed:{rollups_stamp()}:{start}:{end}:{scope}"
    found = cache.get(key)
    if found is None:
        found = _observed_read(start, end, team_scope)
        cache.set(key, found, timeout=settings.NPS_ROLLUP_REFRESH_SECONDS)
    return found


def _observed_read(start: date, end: date, team_scope: tuple[int, ...] | None) -> dict:
    """observed_values from the rollups (1 query: each from the small grain that keeps it)."""
    period = Filters(start, end, team_scope=team_scope)
    parts = [
        rollup_rows(NpsDaily, period, name)
        .exclude(**{name: ""})
        .values(observed_name=Value(name), observed_value=F(name))
        .distinct()
        .order_by()
        for name in OBSERVED
    ]
    found: dict[str, list[str]] = {name: [] for name in OBSERVED}
    for row in union_all(parts):
        found[row["observed_name"]].append(row["observed_value"])
    return {name: sorted(values)[:OBSERVED_MOST] for name, values in found.items()}


def filter_form(
    query: QueryDict, *, team_scope: tuple[int, ...] | None, today: date | None = None
) -> tuple[FilterForm, Period]:
    """The bound form (choices for this user) and the filters it selects."""
    teams = Team.objects.order_by("name")
    if team_scope is not None:
        teams = teams.filter(pk__in=team_scope)
    form = FilterForm(query, teams=list(teams))
    period = period_filters(form, team_scope=team_scope, today=today)
    form.observed_set(observed_values(period.filters.start, period.filters.end, team_scope))
    form.period_show(period)
    return form, period
