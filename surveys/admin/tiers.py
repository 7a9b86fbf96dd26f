"""Admin for the tier thresholds: one row (surveys.tiers reads it), changed, never added or
deleted. A change applies to customers recorded after it, not to stored tiers."""

from django.contrib import admin

from surveys.admin.bases import SingleRowAdmin
from surveys.models import TierThresholds


@admin.register(TierThresholds)
class TierThresholdsAdmin(SingleRowAdmin):
    list_display = ("__str__", "a_above", "b_from", "updated_at")
    fields = ("a_above", "b_from", "updated_at")
    readonly_fields = ("updated_at",)
