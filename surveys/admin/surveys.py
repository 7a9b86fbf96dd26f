"""Survey definitions and their texts, with the SMS length of every text as staff edit it."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from surveys.admin.badges import AMBER, GREEN, badge
from surveys.admin.bases import ReadOnlyAdmin
from surveys.models import (
    Category,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Survey,
    SurveyText,
    Touchpoint,
)
from surveys.smslength import sms_length
from surveys.texts import link_sms_example, with_opt_out_instruction


class SurveyForm(forms.ModelForm):
    touchpoints = forms.MultipleChoiceField(
        label=_("touchpoints"),
        choices=Touchpoint.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick the touchpoints this survey covers; none ticked covers all."),
    )
    followup_categories = forms.MultipleChoiceField(
        label=_('ask "why?" after'),
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Customers in these categories get the follow-up question."),
    )

    class Meta:
        model = Survey
        fields = (
            "name", "is_active", "priority", "touchpoints", "default_language", "delivery",
            "delay_minutes",
            "reply_window_hours", "quiet_start", "quiet_end", "fatigue_days", "max_age_hours",
            "sampling_rate", "followup_categories", "passive_care", "promoter_thanks",
            "callback_promise",
        )  # fmt: skip


def length_badge(text: str) -> SafeString | str:
    if not text:
        return "—"
    encoding, length, segments = sms_length(text)
    label = _("%(encoding)s · %(length)d characters · %(segments)d SMS") % {
        "encoding": encoding, "length": length, "segments": segments,
    }
    return badge(label, GREEN if segments == 1 else AMBER)


class SurveyTextInline(admin.StackedInline):
    model = SurveyText
    extra = 0
    fields = (
        ("language",),
        ("question", "question_length"),
        ("followup_question", "followup_length"),
        ("clarification", "clarification_length"),
        ("care_message", "care_length"),
        ("thanks_message", "thanks_length"),
        ("callback_promise", "promise_length"),
        ("link_message", "link_length"),
    )
    readonly_fields = (
        "question_length", "followup_length", "clarification_length", "care_length",
        "thanks_length", "promise_length", "link_length",
    )  # fmt: skip

    @admin.display(description=_("as sent (with the opt-out instruction)"))
    def question_length(self, obj: SurveyText | None) -> SafeString | str:
        if obj is None or not obj.question:
            return "—"
        return length_badge(with_opt_out_instruction(obj.question, obj.language))

    @admin.display(description=_("SMS length"))
    def followup_length(self, obj: SurveyText | None) -> SafeString | str:
        return length_badge(obj.followup_question if obj else "")

    @admin.display(description=_("SMS length"))
    def clarification_length(self, obj: SurveyText | None) -> SafeString | str:
        return length_badge(obj.clarification if obj else "")

    @admin.display(description=_("SMS length"))
    def promise_length(self, obj: SurveyText | None) -> SafeString | str:
        # As sent for a call due within 24 hours: "{hours}" stands for two digits.
        return length_badge(obj.callback_promise.replace("{hours}", "24") if obj else "")

    @admin.display(description=_("SMS length"))
    def link_length(self, obj: SurveyText | None) -> SafeString | str:
        # As sent: "{link}" stands for a link of the configured base URL and a token.
        return length_badge(link_sms_example(obj.link_message) if obj else "")

    @admin.display(description=_("SMS length"))
    def care_length(self, obj: SurveyText | None) -> SafeString | str:
        return length_badge(obj.care_message if obj else "")

    @admin.display(description=_("SMS length"))
    def thanks_length(self, obj: SurveyText | None) -> SafeString | str:
        return length_badge(obj.thanks_message if obj else "")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyForm
    inlines = (SurveyTextInline,)
    list_display = (
        "name", "is_active", "priority", "touchpoints_label", "delay_minutes",
        "reply_window_hours", "fatigue_days", "max_age_hours", "sampling_rate", "care_sent",
        "thanks_sent",
    )  # fmt: skip
    list_filter = ("is_active", "default_language", "created_at")
    search_fields = ("name",)
    ordering = ("priority", "id")  # the order dispatch picks surveys in
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": (
            "name", "is_active", "priority", "touchpoints", "default_language", "delivery",
        )}),
        (_("Timing"), {
            "fields": ("delay_minutes", "reply_window_hours", "quiet_start", "quiet_end"),
        }),
        (_("Who is asked"), {
            "fields": ("fatigue_days", "max_age_hours", "sampling_rate", "created_at"),
        }),
        (_("Conversation and playbooks"), {
            "fields": (
                "followup_categories", "passive_care", "promoter_thanks", "callback_promise",
            ),
        }),
    )  # fmt: skip

    def get_queryset(self, request: Any) -> QuerySet[Survey]:
        sent = ~Q(invitations__outbound__status=OutboundStatus.SKIPPED)
        return (
            super()
            .get_queryset(request)
            .annotate(
                care_count=Count(
                    "invitations__outbound",
                    filter=Q(invitations__outbound__kind=OutboundKind.CARE) & sent,
                ),
                thanks_count=Count(
                    "invitations__outbound",
                    filter=Q(invitations__outbound__kind=OutboundKind.THANKS) & sent,
                ),
            )
        )

    @admin.display(description=_("care messages"), ordering="care_count")
    def care_sent(self, obj: Survey) -> int:
        return obj.care_count  # type: ignore[attr-defined]

    @admin.display(description=_("thank-you messages"), ordering="thanks_count")
    def thanks_sent(self, obj: Survey) -> int:
        return obj.thanks_count  # type: ignore[attr-defined]

    @admin.display(description=_("touchpoints"))
    def touchpoints_label(self, obj: Survey) -> str:
        labels = dict(Touchpoint.choices)
        return ", ".join(str(labels.get(t, t)) for t in obj.touchpoints) or str(_("All"))


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer_phone", "kind", "status", "language", "text_short")
    list_filter = ("kind", "status", "language", "created_at")
    search_fields = (
        "customer__phone",
        "provider_message_id",
        "invitation__interaction__external_id",
    )
    list_select_related = ("customer",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description=_("phone"), ordering="customer__phone")
    def customer_phone(self, obj: OutboundMessage) -> str:
        return obj.customer.phone

    @admin.display(description=_("text"))
    def text_short(self, obj: OutboundMessage) -> str:
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [f.name for f in OutboundMessage._meta.fields]
