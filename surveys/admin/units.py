"""Admin for the unit tree and the CRM ids that name its stores and channels.

Mapping a CRM id (on a unit's page or in the CRM unit ids list) attributes the
interactions already recorded with it (surveys.units); the page says how many. The
"unmapped CRM ids" page lists the ids seen on interactions that nothing maps yet.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from surveys.models import Unit, UnitCode
from surveys.units import unit_codes_apply, unmapped_unit_codes

PATH_SEPARATOR = " › "


def unit_path(unit: Unit) -> str:
    """The names from the top unit down to this one: "Province › Lhasa › Store 1"."""
    names: list[str] = []
    seen: set[int] = set()
    at: Unit | None = unit
    while at is not None and at.pk not in seen:  # a cycle never loops (Unit.clean forbids one)
        seen.add(at.pk)
        names.append(at.name)
        at = at.parent
    return PATH_SEPARATOR.join(reversed(names))


def attributed_message(request: HttpRequest, count: int, unit: Unit) -> None:
    if count:
        text = ngettext(
            "%(count)d interaction attributed to %(unit)s.",
            "%(count)d interactions attributed to %(unit)s.",
            count,
        ) % {"count": count, "unit": unit.name}
        messages.success(request, text)


class UnitAttributionFilter(admin.SimpleListFilter):
    """On the interactions list: which carry a unit, and which an id no unit has yet."""

    title = _("unit")
    parameter_name = "attribution"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("unit", _("With a unit")),
            ("unmapped", _("Unmapped store or channel id")),
            ("none", _("No store or channel id")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "unit":
            return queryset.filter(unit__isnull=False)
        if self.value() == "unmapped":
            return queryset.filter(unit__isnull=True).exclude(unit_code="")
        if self.value() == "none":
            return queryset.filter(unit__isnull=True, unit_code="")
        return queryset


class UnitCodeInline(admin.TabularInline):
    model = UnitCode
    extra = 1
    verbose_name = _("CRM id")
    verbose_name_plural = _("CRM ids of this store or channel")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("tree_path", "kind", "owner_names", "is_quality_department", "is_active")
    list_filter = ("kind", "is_quality_department", "is_active")
    search_fields = ("name", "codes__code")
    # A store's path is four units deep: its parents come with it, no query per row.
    list_select_related = ("parent__parent__parent",)
    autocomplete_fields = ("parent",)
    filter_horizontal = ("owners",)
    inlines = (UnitCodeInline,)
    fields = ("name", "kind", "parent", "owners", "is_quality_department", "is_active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Unit]:
        return super().get_queryset(request).prefetch_related("owners")

    @admin.display(description=_("unit"), ordering="name")
    def tree_path(self, obj: Unit) -> str:
        return unit_path(obj)

    @admin.display(description=_("owners"))
    def owner_names(self, obj: Unit) -> str:
        return ", ".join(user.get_full_name() or user.username for user in obj.owners.all())

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        codes = [
            code.code
            for formset in formsets
            if formset.model is UnitCode
            for code in [*formset.new_objects, *(obj for obj, _fields in formset.changed_objects)]
        ]
        attributed_message(request, unit_codes_apply(codes), form.instance)


@admin.register(UnitCode)
class UnitCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "unit_path_column", "unit_kind")
    list_filter = ("unit__kind",)
    search_fields = ("code", "unit__name")
    list_select_related = ("unit__parent__parent__parent",)
    autocomplete_fields = ("unit",)
    change_list_template = "admin/surveys/unitcode/change_list.html"

    @admin.display(description=_("unit"), ordering="unit__name")
    def unit_path_column(self, obj: UnitCode) -> str:
        return unit_path(obj.unit)

    @admin.display(description=_("kind"), ordering="unit__kind")
    def unit_kind(self, obj: UnitCode) -> str:
        return obj.unit.get_kind_display()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # "Map" on the unmapped page opens this form with the id filled in (?code=...).
        return {"code": request.GET.get("code", "")}

    def save_model(
        self, request: HttpRequest, obj: UnitCode, form: ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        # The interactions recorded with this id before it was mapped get the unit now.
        attributed_message(request, unit_codes_apply([obj.code]), obj.unit)

    def get_urls(self) -> list[URLPattern]:
        unmapped = path(
            "unmapped/",
            self.admin_site.admin_view(self.unmapped_view),
            name="surveys_unitcode_unmapped",
        )
        return [unmapped, *super().get_urls()]

    def unmapped_view(self, request: HttpRequest) -> HttpResponse:
        """The CRM ids interactions carry that no unit has yet, with how many each."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Unmapped CRM ids"),
            "rows": unmapped_unit_codes(),
            "can_add": self.has_add_permission(request),
        }
        return TemplateResponse(request, "admin/surveys/unitcode/unmapped.html", context)
