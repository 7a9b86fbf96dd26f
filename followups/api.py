"""GET /api/v1/cases/ and /api/v1/cases/<id>/: a customer's callback cases, for the CRM.

Token scopes are model permissions on the token's user. The "CRM" group
(followups.permissions.CRM_PERMISSIONS) records interactions and reads cases
(followups.view_case); the "Reporting" group reads responses (surveys.view_response).
A token user outside the staff roles with followups.view_case (the CRM) reads every
case; a staff user's token reads the cases their role shows them (cases_visible_to).
Agents are named, never their phones; the customer's phone is the query, not the answer.
"""

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from followups.models import Case
from followups.queries import cases_visible_to
from followups.roles import User
from surveys.phones import InvalidPhone, phone_parse


class CanViewCases(BasePermission):
    """Users granted followups.view_case: the CRM group's token users, or staff."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.has_perm("followups.view_case"))


def cases_for(user: User) -> QuerySet[Case]:
    """The cases `user` may read through the API, with what the serializer shows."""
    cases = Case.objects.select_related("team", "agent", "response__interaction").order_by(
        "-opened_at", "-pk"
    )
    if user.is_authenticated and user.is_staff:
        return cases_visible_to(user, within=cases)
    return cases


class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the offset of the reporting time zone (+08:00 in China)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=ZoneInfo(settings.NPS_REPORTING_TIME_ZONE), **kwargs)


class VerificationSerializer(serializers.Serializer):
    due_at = LocalDateTimeField(source="verification_due_at", allow_null=True, read_only=True)
    score = serializers.IntegerField(
        source="verification_score", allow_null=True, read_only=True,
        help_text="The customer's answer to the re-survey after the resolution (0-10).",
    )  # fmt: skip
    recovered = serializers.BooleanField(
        allow_null=True, read_only=True,
        help_text="true: the customer came back satisfied; null: not verified (yet).",
    )  # fmt: skip


class CaseReadSerializer(serializers.ModelSerializer):
    interaction = serializers.CharField(
        source="response.interaction.external_id", allow_null=True, read_only=True,
        help_text="The CRM id of the interaction the answer was about.",
    )  # fmt: skip
    team = serializers.CharField(source="team.name", allow_null=True, read_only=True)
    agent = serializers.CharField(
        source="agent.name", allow_null=True, read_only=True, help_text="The agent's name."
    )
    opened_at = LocalDateTimeField(read_only=True)
    assigned_at = LocalDateTimeField(allow_null=True, read_only=True)
    first_contact_due_at = LocalDateTimeField(source="sla_due_at", read_only=True)
    first_contact_at = LocalDateTimeField(allow_null=True, read_only=True)
    resolution_due_at = LocalDateTimeField(allow_null=True, read_only=True)
    resolved_at = LocalDateTimeField(allow_null=True, read_only=True)
    closed_at = LocalDateTimeField(allow_null=True, read_only=True)
    verification = VerificationSerializer(source="*", read_only=True)

    class Meta:
        model = Case
        fields = [
            "id", "status", "priority", "interaction", "team", "agent", "opened_at",
            "assigned_at", "first_contact_due_at", "first_contact_at", "resolution_due_at",
            "resolved_at", "closed_at", "verification",
        ]  # fmt: skip


class CaseFilterSerializer(serializers.Serializer):
    customer_phone = serializers.CharField(required=False, max_length=32)
    interaction = serializers.CharField(required=False, max_length=64)

    def validate_customer_phone(self, value: str) -> str:
        try:
            return phone_parse(value).e164
        except InvalidPhone as exc:
            raise serializers.ValidationError("Not a phone number.") from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give customer_phone or interaction.")
        return attrs


class CasePagination(PageNumberPagination):
    page_size = 50


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter(
                "customer_phone",
                type=str,
                description="The customer's phone (E.164 or a Chinese number)",
            ),
            OpenApiParameter("interaction", type=str, description="The CRM id of an interaction"),
        ],
        description="A customer's callback cases, newest first, 50 a page: by the "
        "customer's phone, by the interaction the answer was about, or both (both must "
        "match). One of the two is required. Needs followups.view_case (the CRM group).",
    )
)
class CaseListView(ListAPIView):
    serializer_class = CaseReadSerializer
    authentication_classes = [TokenAuthentication]  # an integration's endpoint: tokens
    permission_classes = (CanViewCases,)
    pagination_class = CasePagination

    def get_queryset(self) -> QuerySet[Case]:
        filters = CaseFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        cases = cases_for(self.request.user)
        if "customer_phone" in filters.validated_data:
            cases = cases.filter(customer__phone=filters.validated_data["customer_phone"])
        if "interaction" in filters.validated_data:
            cases = cases.filter(
                response__interaction__external_id=filters.validated_data["interaction"]
            )
        return cases


@extend_schema_view(get=extend_schema(description="One callback case."))
class CaseDetailView(RetrieveAPIView):
    serializer_class = CaseReadSerializer
    authentication_classes = [TokenAuthentication]
    permission_classes = (CanViewCases,)

    def get_queryset(self) -> QuerySet[Case]:
        return cases_for(self.request.user)
