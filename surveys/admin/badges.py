"""Badges, colours and links the admin lists share."""

from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from surveys.models import (
    Category,
    InvitationStatus,
)

GREY, BLUE, GREEN = "#6c757d", "#0d6efd", "#198754"
TEAL, AMBER, RED = "#0f766e", "#b45309", "#c62828"
S = InvitationStatus
INVITATION_COLOURS = {
    S.SCHEDULED: GREY, S.SENDING: BLUE, S.SENT: BLUE, S.DELIVERED: GREEN, S.FAILED: RED,
    S.RESPONDED: TEAL, S.EXPIRED: GREY, S.SUPPRESSED: AMBER,
}  # fmt: skip
CATEGORY_COLOURS: dict[str, str] = {
    Category.PROMOTER: GREEN, Category.PASSIVE: AMBER, Category.DETRACTOR: RED,
}  # fmt: skip


BADGE = '<span style="background:{};color:#fff;padding:1px 8px;border-radius:9px">{}</span>'


def badge(label: Any, colour: str) -> SafeString:
    """A small coloured label for a status in a list."""
    return format_html(BADGE, colour, label)


def badge_column(field: str, colours: dict[Any, str], label: Any) -> Any:
    """A list column showing a choice field's readable value as a coloured badge."""

    @admin.display(description=label, ordering=field)
    def column(model_admin: admin.ModelAdmin, obj: Any) -> SafeString:
        value = getattr(obj, field)
        return badge(getattr(obj, f"get_{field}_display")(), colours.get(value, GREY))

    return column


def short(text: str, size: int = 60) -> str:
    return text if len(text) <= size else f"{text[: size - 1]}…"


def admin_link(obj: Any, label: Any = None) -> SafeString | str:
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)
