"""What the admin screens share: read-only screens for what the services write, phone
search, the customer columns."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from surveys.phones import InvalidPhone, phone_parse


class PhoneSearchMixin:
    """Search also finds numbers typed the way people say them ("138 0013 8000")."""

    phone_search_field = "customer__phone"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        if any(c.isdigit() for c in search_term):
            try:
                e164 = phone_parse(search_term, region=settings.NPS_DEFAULT_REGION).e164
            except InvalidPhone:
                return results, may_have_duplicates
            results |= queryset.filter(**{self.phone_search_field: e164})
        return results, may_have_duplicates


class CustomerColumns:
    """List columns for models with a `customer`: staff may see and search the number."""

    @admin.display(description=_("phone"), ordering="customer__phone")
    def customer_phone(self, obj: Any) -> str:
        return obj.customer.phone

    @admin.display(description=_("value tier"), ordering="customer__tier")
    def customer_tier(self, obj: Any) -> str:
        return obj.customer.get_tier_display()


class SingleRowAdmin(admin.ModelAdmin):
    """A settings row (the model's `current()` makes it with the defaults): the list shows the
    one row, staff change it; nobody adds or deletes one."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        self.model.current()
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin:
    """Records the services write: staff look, nobody adds, edits or deletes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class RawTrafficAdmin(ReadOnlyAdmin):
    """What a gateway sent us, kept as evidence."""

    @admin.display(boolean=True, description=_("processed"), ordering="processed_at")
    def processed(self, obj: Any) -> bool:
        return obj.processed_at is not None

    @admin.display(description=_("raw payload"))
    def raw_payload(self, obj: Any) -> SafeString:
        text = json.dumps(obj.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


def all_fields(fieldsets: Sequence[tuple[Any, Mapping[str, Any]]]) -> tuple[str, ...]:
    return tuple(field for _name, options in fieldsets for field in options["fields"])
