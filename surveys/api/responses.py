"""GET /api/v1/responses/ and /api/v1/responses/<id>/: answers with their reasons, read-only."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from surveys.models import Category, Customer, Interaction, Purpose, ReasonCategory, Response
from surveys.phones import mask_phone


class CanViewResponses(BasePermission):
    """Users granted surveys.view_response: supervisors (their role), or a token user.

    Being staff is not enough: agents and team leads are staff, and the roles keep every
    customer's answers from them (the admin's Response pages refuse them too).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.has_perm("surveys.view_response"))


class ResponsePagination(PageNumberPagination):
    page_size = 50


# A verification answer (the re-survey after a resolved case) measures recovery, not NPS:
# the list shows survey answers unless asked for verification answers, or all.
PURPOSE_ALL = "all"
PURPOSE_FILTER = [*Purpose.values, PURPOSE_ALL]


class ResponseFilterSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    purpose = serializers.ChoiceField(choices=PURPOSE_FILTER, default=Purpose.SURVEY)
    since = serializers.DateTimeField(required=False, help_text="ISO 8601, e.g. 2026-11-01T00:00Z")


class ReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReasonCategory
        fields = ["code", "name_en", "name_zh"]


class ResponseCustomerSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["phone", "tier", "region", "language"]

    def get_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone)


class ResponseInteractionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        fields = ["external_id", "touchpoint", "business_type"]


class ResponseReadSerializer(serializers.ModelSerializer):
    purpose = serializers.ChoiceField(
        source="invitation.purpose",
        choices=Purpose.choices,
        read_only=True,
        help_text="survey: an answer to the survey after an interaction (counts in NPS); "
        "verification: the re-survey after a resolved case (measures recovery).",
    )
    reasons = ReasonSerializer(many=True, read_only=True)
    customer = ResponseCustomerSerializer(read_only=True)
    interaction = ResponseInteractionSerializer(read_only=True)

    class Meta:
        model = Response
        fields = [
            "id", "purpose", "score", "category", "comment", "reasons", "customer",
            "interaction", "created_at",
        ]  # fmt: skip


def responses_with_reasons(
    *, category: str = "", since: Any = None, purpose: str = PURPOSE_ALL
) -> QuerySet[Response]:
    """Newest first, with everything the read serializer shows in three queries (count too)."""
    reasons = ReasonCategory.objects.only("code", "name_en", "name_zh", "sort_order")
    queryset = Response.objects.select_related(
        "customer", "interaction", "invitation"
    ).prefetch_related(Prefetch("reasons", queryset=reasons))
    if purpose != PURPOSE_ALL:
        queryset = queryset.filter(invitation__purpose=purpose)
    if category:
        queryset = queryset.filter(category=category)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return queryset.order_by("-created_at", "-id")


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("category", enum=Category.values, description="Only this category"),
            OpenApiParameter("since", type=str, description="Answered at or after (ISO 8601)"),
            OpenApiParameter(
                "purpose",
                enum=PURPOSE_FILTER,
                default=Purpose.SURVEY,
                description="survey (the default): answers to the survey after an interaction, "
                "the ones NPS counts; verification: answers to the re-survey after a resolved "
                "case; campaign: answers to a care campaign's survey; all: every one. Each "
                "response says which it is in `purpose`.",
            ),
        ],
        description="Responses, newest first, 50 a page: survey answers unless `purpose` "
        "asks for verification or campaign answers or all.",
    )
)
class ResponseListView(ListAPIView):
    serializer_class = ResponseReadSerializer
    permission_classes = (CanViewResponses,)
    pagination_class = ResponsePagination

    def get_queryset(self) -> QuerySet[Response]:
        filters = ResponseFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)  # a bad filter is a 400, not an empty page
        return responses_with_reasons(**filters.validated_data)


class ResponseDetailView(RetrieveAPIView):
    serializer_class = ResponseReadSerializer
    permission_classes = (CanViewResponses,)
    queryset = responses_with_reasons()
