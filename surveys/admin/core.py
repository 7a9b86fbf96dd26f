"""Admin for customers, interactions, surveys and the SMS traffic around them.

Records written by the services (invitations, inbound messages, receipts, responses)
are shown read-only: their state only moves through surveys.dispatch and friends.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from surveys.consent import consent_change, consent_reason_required
from surveys.models import (
    Category,
    ConsentChange,
    ConsentSource,
    Customer,
    DeliveryReceipt,
    InboundMessage,
    Interaction,
    Invitation,
    InvitationStatus,
    Response,
)
from surveys.phones import InvalidPhone, phone_parse

# ---------------------------------------------------------------- shared helpers

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


# ---------------------------------------------------------------- customers


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        # Consent is not a form field: it changes only through surveys.consent (the actions).
        fields = ("phone", "name", "tier", "region", "language", "time_zone")

    def clean_phone(self) -> str:
        """Store E.164, as the CRM import does, so one number is one customer."""
        try:
            parsed = phone_parse(self.cleaned_data["phone"], region=settings.NPS_DEFAULT_REGION)
        except InvalidPhone as exc:
            raise forms.ValidationError(_("This is not a phone number.")) from exc
        self.instance.is_mobile = parsed.is_mobile
        return parsed.e164


class OptedOutFilter(admin.SimpleListFilter):
    title = _("opted out")
    parameter_name = "opted_out"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.value() in ("yes", "no"):
            return queryset.filter(opted_out_at__isnull=self.value() == "no")
        return queryset


class ConsentChangeInline(ReadOnlyMixin, admin.TabularInline):
    """The consent log on the customer's page: append-only, written by surveys.consent."""

    model = ConsentChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "change", "source", "who", "why")
    verbose_name_plural = _("consent log")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConsentChange]:
        return super().get_queryset(request).select_related("actor", "message")

    @admin.display(description=_("change"))
    def change(self, obj: ConsentChange) -> str:
        return str(_("Opted out") if obj.opted_out else _("Opted back in"))

    @admin.display(description=_("who"))
    def who(self, obj: ConsentChange) -> str:
        return str(obj.actor) if obj.actor else str(_("The customer"))

    @admin.display(description=_("reason"))
    def why(self, obj: ConsentChange) -> str:
        if obj.message is not None:
            return str(_("SMS “%(text)s”") % {"text": short(obj.message.text)})
        return obj.reason or "—"


class ConsentForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How and when the customer asked, e.g. the hotline call and its date."),
    )


@admin.register(Customer)
class CustomerAdmin(PhoneSearchMixin, admin.ModelAdmin):
    form = CustomerForm
    phone_search_field = "phone"
    list_display = (
        "phone", "name", "tier", "region", "language", "is_mobile", "opted_out", "created_at",
    )  # fmt: skip
    list_filter = (OptedOutFilter, "tier", "region", "language", "is_mobile", "created_at")
    search_fields = ("phone", "name")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("is_mobile", "opted_out_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("phone", "is_mobile", "name")}),
        (_("Profile"), {"fields": ("tier", "region", "language", "time_zone")}),
        (_("Consent"), {"fields": ("opted_out_at",)}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ConsentChangeInline,)
    actions = ("mark_opted_out", "opt_back_in")

    @admin.display(boolean=True, description=_("opted out"), ordering="opted_out_at")
    def opted_out(self, obj: Customer) -> bool:
        return obj.is_opted_out

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else ()  # a new customer has no log yet

    def has_consent_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("surveys.change_consent")

    @admin.action(
        description=_("Mark opted out (the customer asked us to stop)"), permissions=["consent"]
    )
    def mark_opted_out(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        return self.consent_confirm(request, queryset, opted_out=True)

    @admin.action(
        description=_("Opt back in (the customer asked to hear from us again)"),
        permissions=["consent"],
    )
    def opt_back_in(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        return self.consent_confirm(request, queryset, opted_out=False)

    def consent_confirm(
        self, request: HttpRequest, queryset: QuerySet[Customer], *, opted_out: bool
    ) -> TemplateResponse | None:
        """A confirmation page with the reason, then one consent_change per customer."""
        if queryset.count() > CONSENT_BATCH_MAX:  # each change answers one person's request
            text = _("Select at most %(max)d customers to change their consent.")
            self.message_user(request, text % {"max": CONSENT_BATCH_MAX}, messages.ERROR)
            return None
        form = ConsentForm(request.POST if "apply" in request.POST else None)
        form.fields["reason"].required = consent_reason_required(
            opted_out=opted_out, source=ConsentSource.STAFF
        )
        if form.is_valid():
            actor = cast(User, request.user)  # the admin serves only logged-in staff
            changed = sum(
                consent_change(
                    customer=customer, opted_out=opted_out, source=ConsentSource.STAFF,
                    actor=actor, reason=form.cleaned_data["reason"],
                ) is not None
                for customer in queryset.only("pk", "opted_out_at")
            )  # fmt: skip
            done = CONSENT_DONE[opted_out] % {"count": changed}
            self.message_user(request, done, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "form": form, "customers": queryset,
            "action": request.POST["action"], "title": CONSENT_TITLES[opted_out],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }  # fmt: skip
        return TemplateResponse(request, "admin/surveys/customer/consent_confirm.html", context)


CONSENT_BATCH_MAX = 100
CONSENT_TITLES = {True: _("Mark opted out"), False: _("Opt back in")}
CONSENT_DONE = {
    True: _("%(count)d customer(s) marked opted out."),
    False: _("%(count)d customer(s) opted back in."),
}


@admin.register(Interaction)
class InteractionAdmin(PhoneSearchMixin, CustomerColumns, admin.ModelAdmin):
    list_display = (
        "external_id", "customer_phone", "touchpoint", "channel", "business_type",
        "staff_name", "occurred_at",
    )  # fmt: skip
    list_filter = ("touchpoint", "channel", "customer__tier", "customer__region", "occurred_at")
    search_fields = ("external_id", "customer__phone", "staff_id", "staff_name")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    fieldsets = (
        (None, {
            "fields": ("external_id", "customer", "touchpoint", "occurred_at"),
            "description": _(
                "Interactions normally arrive from the CRM, which also plans their survey. "
                "One added here is only recorded: no survey is sent for it."
            ),
        }),
        (_("Details"), {
            "fields": ("channel", "business_type", "staff_id", "staff_name", "created_at"),
        }),
    )  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("external_id", "customer") if obj else ()  # the CRM's key and its customer
        return (*fixed, "created_at")


@admin.register(Invitation)
class InvitationAdmin(PhoneSearchMixin, CustomerColumns, ReadOnlyAdmin):
    list_display = (
        "id", "created_at", "customer_phone", "crm_id", "status_badge", "suppressed_reason",
        "survey", "send_at", "attempts", "sent_at",
    )  # fmt: skip
    list_filter = (
        "status", "suppressed_reason", "gateway", "survey", "interaction__touchpoint",
        "customer__region", "created_at", "sent_at",
    )  # fmt: skip
    search_fields = ("customer__phone", "interaction__external_id", "provider_message_id")
    list_select_related = ("customer", "interaction", "survey")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": ("interaction", "customer", "survey", "response")}),
        (_("Status"), {"fields": ("status", "suppressed_reason", "attempts", "failure_reason")}),
        (_("Message"), {"fields": ("language", "text", "gateway", "provider_message_id")}),
        (_("Timeline"), {
            "fields": (
                "created_at", "send_at", "enqueued_at", "claimed_at", "sent_at",
                "delivered_at", "failed_at", "expires_at", "responded_at",
            ),
        }),
    )  # fmt: skip
    readonly_fields = all_fields(fieldsets)
    status_badge = badge_column("status", INVITATION_COLOURS, _("status"))

    @admin.display(description=_("CRM id"), ordering="interaction__external_id")
    def crm_id(self, obj: Invitation) -> str:
        return obj.interaction.external_id

    @admin.display(description=_("response"))
    def response(self, obj: Invitation) -> SafeString | str:
        return admin_link(Response.objects.filter(invitation=obj).first())


@admin.register(InboundMessage)
class InboundMessageAdmin(PhoneSearchMixin, RawTrafficAdmin):
    phone_search_field = "phone"
    list_display = ("received_at", "phone", "short_text", "gateway", "outcome", "processed")
    list_filter = ("gateway", "outcome", "received_at", "processed_at")
    search_fields = ("phone", "gateway_message_id", "invitation__interaction__external_id")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    fieldsets = (
        (None, {"fields": ("phone", "text", "invitation")}),
        (_("Processing"), {"fields": ("received_at", "processed_at", "outcome")}),
        (_("Gateway"), {"fields": ("gateway", "gateway_message_id", "raw_payload")}),
    )
    readonly_fields = all_fields(fieldsets)

    @admin.display(description=_("text"))
    def short_text(self, obj: InboundMessage) -> str:
        return short(obj.text)


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(RawTrafficAdmin):
    list_display = (
        "received_at", "provider_message_id", "gateway", "status_badge", "error", "outcome",
        "processed",
    )  # fmt: skip
    list_filter = ("gateway", "status", "outcome", "received_at", "processed_at")
    search_fields = ("provider_message_id", "reference")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    fieldsets = (
        (None, {"fields": ("provider_message_id", "status", "error", "invitation")}),
        (_("Processing"), {"fields": ("received_at", "processed_at", "outcome")}),
        (_("Gateway"), {"fields": ("gateway", "reference", "raw_payload")}),
    )
    readonly_fields = all_fields(fieldsets)
    status_badge = badge_column("status", INVITATION_COLOURS, _("status"))

    @admin.display(description=_("invitation"))
    def invitation(self, obj: DeliveryReceipt) -> SafeString | str:
        sent = Invitation.objects.filter(provider_message_id=obj.provider_message_id)
        return admin_link(sent.filter(gateway=obj.gateway).first())


@admin.register(Response)
class ResponseAdmin(PhoneSearchMixin, CustomerColumns, ReadOnlyAdmin):
    list_display = (
        "created_at", "score", "category_badge", "customer_phone", "customer_tier",
        "touchpoint", "short_comment", "reason_names",
    )  # fmt: skip
    list_filter = (
        "category", "score", "reasons", "interaction__touchpoint", "customer__tier",
        "customer__region", "created_at",
    )  # fmt: skip
    search_fields = ("customer__phone", "interaction__external_id", "comment")
    list_select_related = ("customer", "interaction")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fieldsets = (
        (None, {
            "fields": ("score", "category", "comment", "reason_names", "created_at", "updated_at"),
        }),
        (_("Where it came from"), {
            "fields": ("customer", "interaction", "invitation", "message", "case"),
        }),
    )  # fmt: skip
    readonly_fields = all_fields(fieldsets)
    category_badge = badge_column("category", CATEGORY_COLOURS, _("category"))

    @admin.display(description=_("touchpoint"), ordering="interaction__touchpoint")
    def touchpoint(self, obj: Response) -> str:
        return obj.interaction.get_touchpoint_display()

    @admin.display(description=_("comment"))
    def short_comment(self, obj: Response) -> str:
        return short(obj.comment)

    @admin.display(description=_("follow-up case"))
    def case(self, obj: Response) -> SafeString | str:
        return admin_link(getattr(obj, "case", None))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Response]:
        return super().get_queryset(request).prefetch_related("reasons")  # the Reasons column

    @admin.display(description=_("reasons"))  # not named "reasons": the relation would win
    def reason_names(self, obj: Response) -> str:
        return ", ".join(category.label() for category in obj.reasons.all()) or "—"
