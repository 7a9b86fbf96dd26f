"""Admin for interactions, invitations, inbound messages, receipts and responses: the
records the services write, shown read-only."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from surveys.admin.badges import (
    CATEGORY_COLOURS,
    INVITATION_COLOURS,
    admin_link,
    badge_column,
    short,
)
from surveys.admin.bases import (
    CustomerColumns,
    PhoneSearchMixin,
    RawTrafficAdmin,
    ReadOnlyAdmin,
    all_fields,
)
from surveys.admin.units import UnitAttributionFilter
from surveys.models import (
    DeliveryReceipt,
    InboundMessage,
    Interaction,
    Invitation,
    Response,
)


@admin.register(Interaction)
class InteractionAdmin(PhoneSearchMixin, CustomerColumns, admin.ModelAdmin):
    list_display = (
        "external_id", "customer_phone", "touchpoint", "kind", "channel", "business_type",
        "staff_name", "occurred_at",
    )  # fmt: skip
    list_filter = (
        "touchpoint",
        "kind",
        "channel",
        "customer__tier",
        "customer__region",
        UnitAttributionFilter,
        "occurred_at",
    )
    search_fields = ("external_id", "customer__phone", "staff_id", "staff_name", "unit_code")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    fieldsets = (
        (None, {
            "fields": ("external_id", "customer", "touchpoint", "kind", "occurred_at"),
            "description": _(
                "Interactions normally arrive from the CRM, which also plans their survey. "
                "One added here is only recorded: no survey is sent for it."
            ),
        }),
        (_("Details"), {
            "fields": (
                "channel", "business_type", "staff_id", "staff_name", "unit_code", "unit",
                "created_at",
            ),
        }),
    )  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The CRM's key and its customer; the kind, which put a complaint in the pool on adding.
        fixed = ("external_id", "customer", "kind") if obj else ()
        # The unit follows the store or channel id's mapping (CRM unit ids), not a hand edit.
        return (*fixed, "unit", "created_at")


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
