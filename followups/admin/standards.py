"""Admin for the service standards: first-contact and resolution targets per tier and priority.

The grid (every tier at every priority) is seeded by a migration: rows are edited, not
added or deleted. ServiceStandard.clean refuses a target that would let a higher tier or a
more urgent priority wait longer than a lower or less urgent one.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from followups.models import ServiceStandard


@admin.register(ServiceStandard)
class ServiceStandardAdmin(admin.ModelAdmin):
    list_display = ("priority", "tier", "first_contact_hours", "resolution_hours")
    list_display_links = ("priority", "tier")
    list_filter = ("priority", "tier")
    ordering = ("priority", "tier")
    fields = ("tier", "priority", "first_contact_hours", "resolution_hours")
    readonly_fields = ("tier", "priority")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        explanation = _(
            "Business hours of the case's team allowed to reach the customer and to resolve "
            "the case, by value tier and priority. New cases use them from the next opening; "
            "due times already set do not move. For the same priority, A is never given more "
            "time than B, nor B than C."
        )
        return super().changelist_view(request, {"subtitle": explanation, **(extra_context or {})})
