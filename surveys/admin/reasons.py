"""Admin for the reason taxonomy and the runs that re-categorise stored comments.

Any change that can alter matches (keywords, active, code) starts a re-categorisation
run; its progress is visible under "Re-categorisation runs".
"""

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from surveys.admin.badges import AMBER, BLUE, GREEN, GREY, RED, badge_column
from surveys.admin.bases import ReadOnlyAdmin, all_fields
from surveys.models import Language, ReasonCategory, RecategorisationRun, RunStatus
from surveys.reasons import recategorisation_start

KEYWORD_FIELDS = {
    "keywords_zh": Language.ZH_HANS, "keywords_en": Language.EN, "keywords_bo": Language.BO,
}  # fmt: skip
KEYWORDS_HELP = _(
    "One a line, or separated by commas. Chinese and Tibetan are found anywhere in a "
    "comment; English as whole words, with -s, -es, -ed or -ing allowed at the end."
)
_SEPARATORS = re.compile(r"[\n,，、;；]")  # one a line, or separated by (full-width) commas
RUN_COLOURS: dict[str, str] = {
    RunStatus.QUEUED: GREY, RunStatus.RUNNING: BLUE, RunStatus.FINISHED: GREEN,
    RunStatus.SUPERSEDED: GREY, RunStatus.FAILED: RED,
}  # fmt: skip
PROGRESS = (
    '<div style="min-width:11em">{} / {} ({}%)'
    '<div style="background:#e9ecef;height:6px;border-radius:3px;margin-top:2px">'
    '<div style="background:{};width:{}%;height:6px;border-radius:3px"></div></div></div>'
)


def keywords_parse(text: str) -> list[str]:
    """Keywords typed one a line or comma-separated: trimmed, blanks and repeats dropped."""
    words = (w.strip() for w in _SEPARATORS.split(text))
    return list(dict.fromkeys(w for w in words if w))


class ReasonCategoryForm(forms.ModelForm):
    keywords_zh = forms.CharField(label=_("keywords (Chinese)"), required=False)
    keywords_en = forms.CharField(label=_("keywords (English)"), required=False)
    keywords_bo = forms.CharField(label=_("keywords (Tibetan)"), required=False)

    class Meta:
        model = ReasonCategory
        fields = ("code", "name_en", "name_zh", "is_active", "sort_order")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.keywords if isinstance(self.instance.keywords, dict) else {}
        self.keywords_before = _non_empty(stored)
        for name, language in KEYWORD_FIELDS.items():
            self.fields[name].widget = forms.Textarea(attrs={"rows": 6, "cols": 60})
            self.fields[name].help_text = KEYWORDS_HELP
            self.fields[name].initial = "\n".join(stored.get(language, []))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.keywords = {
            language: keywords_parse(cleaned.get(name) or "")
            for name, language in KEYWORD_FIELDS.items()
        }
        return cleaned

    def changes_matching(self) -> bool:
        """Whether the edit can change which responses this category matches."""
        changed = {"code", "is_active"} & set(self.changed_data)
        return bool(changed) or _non_empty(self.instance.keywords) != self.keywords_before


def _non_empty(keywords: dict[str, list[str]]) -> dict[str, list[str]]:
    return {language: words for language, words in keywords.items() if words}


@admin.register(ReasonCategory)
class ReasonCategoryAdmin(admin.ModelAdmin):
    form = ReasonCategoryForm
    list_display = (
        "code", "name_en", "name_zh", "keywords_zh_count", "keywords_en_count",
        "keywords_bo_count", "is_active", "sort_order",
    )  # fmt: skip
    list_filter = ("is_active",)
    search_fields = ("code", "name_en", "name_zh")
    ordering = ("sort_order", "code")
    fieldsets = (
        (None, {"fields": ("code", "name_en", "name_zh", "is_active", "sort_order")}),
        (_("Keywords"), {"fields": tuple(KEYWORD_FIELDS)}),
    )
    actions = ("recategorise_all",)

    def _count(self, obj: ReasonCategory, language: str) -> int:
        return len(obj.keywords.get(language, [])) if isinstance(obj.keywords, dict) else 0

    @admin.display(description=_("Chinese keywords"))
    def keywords_zh_count(self, obj: ReasonCategory) -> int:
        return self._count(obj, Language.ZH_HANS)

    @admin.display(description=_("English keywords"))
    def keywords_en_count(self, obj: ReasonCategory) -> int:
        return self._count(obj, Language.EN)

    @admin.display(description=_("Tibetan keywords"))
    def keywords_bo_count(self, obj: ReasonCategory) -> int:
        return self._count(obj, Language.BO)

    def save_model(
        self, request: HttpRequest, obj: ReasonCategory, form: ReasonCategoryForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change or form.changes_matching():
            self._recategorise(request, _("Category “%(code)s” saved") % {"code": obj.code})

    def delete_model(self, request: HttpRequest, obj: ReasonCategory) -> None:
        super().delete_model(request, obj)
        self._recategorise(request, _("Category “%(code)s” deleted") % {"code": obj.code})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReasonCategory]) -> None:
        codes = ", ".join(queryset.values_list("code", flat=True))
        super().delete_queryset(request, queryset)
        self._recategorise(request, _("Categories deleted: %(codes)s") % {"codes": codes})

    @admin.action(description=_("Re-categorise all responses now"))
    def recategorise_all(self, request: HttpRequest, queryset: QuerySet[ReasonCategory]) -> None:
        self._recategorise(request, str(_("Started from the admin")))

    def _recategorise(self, request: HttpRequest, reason: str) -> None:
        run = recategorisation_start(reason=str(reason))
        runs = reverse("admin:surveys_recategorisationrun_changelist")
        text = ngettext(
            'Re-categorising {count} response; progress under <a href="{url}">'
            "Re-categorisation runs</a>.",
            'Re-categorising {count} responses; progress under <a href="{url}">'
            "Re-categorisation runs</a>.",
            run.total,
        )
        self.message_user(request, format_html(text, count=f"{run.total:,}", url=runs))


@admin.register(RecategorisationRun)
class RecategorisationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "created_at", "status_badge", "progress", "reason", "started_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status", "created_at")
    ordering = ("-created_at", "-id")
    fieldsets = (
        (None, {"fields": ("status", "progress", "reason", "error")}),
        (_("Timeline"), {"fields": ("created_at", "started_at", "finished_at")}),
        (_("Cursor"), {"fields": ("total", "done", "up_to_response_id", "last_response_id")}),
    )
    readonly_fields = all_fields(fieldsets)
    status_badge = badge_column("status", RUN_COLOURS, _("status"))

    @admin.display(description=_("progress"))
    def progress(self, obj: RecategorisationRun) -> SafeString:
        colours: dict[str, str] = {RunStatus.FAILED: RED, RunStatus.FINISHED: GREEN}
        colour = colours.get(obj.status, AMBER)
        return format_html(
            PROGRESS, f"{obj.done:,}", f"{obj.total:,}", obj.percent, colour, obj.percent
        )
