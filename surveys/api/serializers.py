"""API serializers: write serializers validate only; read serializers shape output."""

from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from surveys.models import (
    CustomerLanguage,
    Interaction,
    InteractionKind,
    Invitation,
    Tier,
    Touchpoint,
)
from surveys.models.customers import ARPU_MAX
from surveys.occurrence import validate_occurred_at
from surveys.phones import InvalidPhone, phone_parse
from surveys.preferences import preference_codes_unknown

# More preference values than any taxonomy has features is a mistake, not a customer.
PREFERENCES_MAX = 500


class CustomerWriteSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=CustomerLanguage.choices, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    region = serializers.CharField(max_length=64, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False)
    arpu = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=Decimal(0), max_value=ARPU_MAX,
        required=False, allow_null=True,
        help_text="Monthly ARPU in yuan. Without a tier, the tier is derived from it.",
    )  # fmt: skip
    arpu_trend_yuan = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=-ARPU_MAX, max_value=ARPU_MAX,
        required=False, allow_null=True,
        help_text="This month's ARPU minus last month's, in yuan.",
    )  # fmt: skip
    preferences = serializers.DictField(
        child=serializers.FloatField(min_value=0.0, max_value=1.0),
        required=False,
        help_text='Preference values from 0 to 1 by feature code, e.g. {"channel_sms": 0.8}.',
    )

    def validate_phone(self, value: str) -> str:
        try:
            return phone_parse(value, region=settings.NPS_DEFAULT_REGION).e164
        except InvalidPhone as exc:
            raise serializers.ValidationError(f"Not a phone number: {exc}") from exc

    def validate_time_zone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"Unknown time zone {value!r}.") from exc
        return value

    def validate_preferences(self, value: dict[str, float]) -> dict[str, float]:
        if len(value) > PREFERENCES_MAX:
            raise serializers.ValidationError(
                _("At most %(max)d preferences per customer.") % {"max": PREFERENCES_MAX}
            )
        if unknown := preference_codes_unknown(value):
            raise serializers.ValidationError(
                _("Unknown preference feature code(s): %(codes)s.") % {"codes": ", ".join(unknown)}
            )
        return value


class InteractionWriteSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    customer = CustomerWriteSerializer()
    touchpoint = serializers.ChoiceField(choices=Touchpoint.choices)
    kind = serializers.ChoiceField(
        choices=InteractionKind.choices,
        default=InteractionKind.SERVICE,
        help_text="service (default) or complaint: a complaint puts the customer in the "
        "dissatisfied-customer pool.",
    )
    channel = serializers.CharField(max_length=32, required=False, allow_blank=True)
    business_type = serializers.CharField(max_length=64, required=False, allow_blank=True)
    staff_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    staff_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit_code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The CRM's id of the store or channel that served the customer; mapped to "
        "a unit in the admin (CRM unit ids), also after the interaction arrived.",
    )
    # The model's range (surveys/occurrence.py): nothing before 1900, nothing ahead of now.
    occurred_at = serializers.DateTimeField(
        validators=[validate_occurred_at],
        error_messages={
            "invalid": _("occurred_at is not an ISO 8601 date and time (2026-11-20T08:00:00Z)."),
            "overflow": _("occurred_at is out of range of the calendar."),
        },
    )


class ConflictSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the posted list (0 for an object).")
    external_id = serializers.CharField()
    # The metaclass takes declared fields out of the class, so this is the API's "fields"
    # key and does not replace Serializer.fields, as the stubs assume.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(),
        help_text='Fields whose values differ from the recorded ones, e.g. "customer.phone".',
    )


class InteractionConflictSerializer(serializers.Serializer):
    """409: an external_id already recorded with other values; nothing was stored."""

    detail = serializers.CharField()
    conflicts = ConflictSerializer(many=True)


class InvitationReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "status", "suppressed_reason", "send_at"]


class InteractionReadSerializer(serializers.ModelSerializer):
    invitation = serializers.SerializerMethodField()
    created = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id", "external_id", "created", "touchpoint", "kind", "unit_code", "unit",
            "occurred_at", "invitation",
        ]  # fmt: skip
        extra_kwargs: ClassVar = {
            "unit": {"help_text": "The unit the CRM id is mapped to (null: not mapped yet)."}
        }

    def get_created(self, obj: Interaction) -> bool:
        return bool(self.context.get("created", {}).get(obj.pk, False))

    def get_invitation(self, obj: Interaction) -> dict[str, Any] | None:
        invitation = obj.invitations.first()
        return InvitationReadSerializer(invitation).data if invitation else None
