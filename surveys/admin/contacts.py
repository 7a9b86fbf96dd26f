"""Admin for the contact budget (one row, changed, never added or deleted) and the log of
every contact we made (read-only: surveys.pressure writes it)."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.admin.bases import (
    CustomerColumns,
    PhoneSearchMixin,
    ReadOnlyAdmin,
    ReadOnlyMixin,
    SingleRowAdmin,
)
from surveys.models import Contact, ContactPolicy


@admin.register(ContactPolicy)
class ContactPolicyAdmin(SingleRowAdmin):
    """The budget in force: a change applies to the next contact decided."""

    list_display = ("__str__", "max_contacts", "window_days", "updated_at")
    fields = ("max_contacts", "window_days", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(Contact)
class ContactAdmin(PhoneSearchMixin, CustomerColumns, ReadOnlyAdmin):
    """Every contact, whatever made it: what the budget counted for each customer."""

    list_display = ("at", "customer_phone", "customer_tier", "kind", "source")
    list_filter = ("kind", "at")
    search_fields = ("customer__phone", "source")
    list_select_related = ("customer",)
    date_hierarchy = "at"
    ordering = ("-at", "-pk")
    fields = readonly_fields = ("customer", "kind", "at", "source")


class RecentContactInline(ReadOnlyMixin, admin.TabularInline):
    """The customer's contacts in the budget's window, newest first (on the customer page)."""

    model = Contact
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "kind", "source")
    ordering = ("-at", "-pk")
    verbose_name_plural = _("contacts in the budget's window")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        since = timezone.now() - timedelta(days=ContactPolicy.current().window_days)
        return super().get_queryset(request).filter(at__gt=since)
