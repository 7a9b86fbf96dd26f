"""Admin for the preference taxonomy, and each customer's preferences on the customer page.

The customer admin is surveys' (surveys does not import care): care registers a subclass
that adds the preferences inline.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from care.models import CustomerPreference, PreferenceClass, PreferenceFeature
from surveys.admin.customers import CustomerAdmin
from surveys.models import Customer


class PreferenceFeatureInline(admin.TabularInline):
    model = PreferenceFeature
    extra = 0
    fields = ("code", "name_zh", "name_en", "order", "active")


@admin.register(PreferenceClass)
class PreferenceClassAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "name_zh", "name_en", "order", "feature_count")
    list_editable = ("order",)
    search_fields = ("code", "name_zh", "name_en")
    inlines = (PreferenceFeatureInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PreferenceClass]:
        return super().get_queryset(request).prefetch_related("features")

    @admin.display(description=_("name"), ordering="order")
    def name(self, obj: PreferenceClass) -> str:
        return obj.name

    @admin.display(description=_("features"))
    def feature_count(self, obj: PreferenceClass) -> int:
        return len(obj.features.all())


@admin.register(PreferenceFeature)
class PreferenceFeatureAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "preference_class", "name_zh", "name_en", "order", "active")
    list_editable = ("order", "active")
    list_filter = ("preference_class", "active")
    list_select_related = ("preference_class",)
    search_fields = ("code", "name_zh", "name_en")

    @admin.display(description=_("name"), ordering="order")
    def name(self, obj: PreferenceFeature) -> str:
        return obj.name


class CustomerPreferenceInline(admin.TabularInline):
    model = CustomerPreference
    extra = 0
    fields = ("feature", "value", "source", "updated_at")
    readonly_fields = ("updated_at",)
    verbose_name_plural = _("preferences")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerPreference]:
        return super().get_queryset(request).select_related("feature")


class CustomerWithPreferencesAdmin(CustomerAdmin):
    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        """The consent log, then the preferences; a new customer has neither yet."""
        inlines = super().get_inlines(request, obj)
        return (*inlines, CustomerPreferenceInline) if obj is not None else inlines


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithPreferencesAdmin)
