"""Admin for the tier thresholds: one row (surveys.tiers reads it), changed, never added or
deleted. A change applies to customers recorded after it, not to stored tiers."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from surveys.models import TierThresholds


@admin.register(TierThresholds)
class TierThresholdsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "a_above", "b_from", "updated_at")
    fields = ("a_above", "b_from", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the migration creates the one row

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
