"""Digest deliveries: who got yesterday's digest, when, or why not. Read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from followups.models import DigestDelivery
from surveys.admin.bases import ReadOnlyAdmin


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("date", "user", "sent_at", "delivered", "error")
    list_filter = ("date", "sent_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "date"

    @admin.display(boolean=True, description=_("delivered"))
    def delivered(self, obj: DigestDelivery) -> bool:
        return obj.sent_at is not None and not obj.error
