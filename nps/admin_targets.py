"""Targets in the admin: listed by period, unit and metric, checked against the metric's
range (nps.targets), and split down the tree with an action."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from nps.models import Target
from nps.targets import target_value_error, targets_split


class TargetForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = ("unit", "metric", "period_start", "period_end", "value")

    def clean(self) -> dict[str, Any]:
        got = super().clean() or {}
        metric, value = got.get("metric"), got.get("value")
        if metric and value is not None and (error := target_value_error(metric, value)):
            self.add_error("value", error)
        first, last = got.get("period_start"), got.get("period_end")
        if first and last and last < first:
            self.add_error("period_end", _("The period ends before it starts."))
        return got


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = ("unit", "metric", "period_start", "period_end", "value")
    list_filter = ("metric", "period_start", "unit")
    search_fields = ("unit__name",)
    list_select_related = ("unit",)
    date_hierarchy = "period_start"
    actions = ("split_to_children",)

    @admin.action(description=_("Split to child units (copy to the units below, same period)"))
    def split_to_children(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        created, kept = targets_split(target_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(created)d target copied to child units; %(kept)d already had one and kept it.",
                "%(created)d targets copied to child units; %(kept)d already had one and kept it.",
                created,
            )
            % {"created": created, "kept": kept},
            messages.SUCCESS,
        )
