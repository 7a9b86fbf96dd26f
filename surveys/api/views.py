"""POST /api/v1/interactions/: one interaction or a list, idempotent on external_id."""

from dataclasses import asdict

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.parsers import DepthLimitedJSONParser
from surveys.api.serializers import (
    InteractionConflictSerializer,
    InteractionReadSerializer,
    InteractionWriteSerializer,
)
from surveys.interactions import InteractionConflict, interactions_record

# An object for an object, a list for a list (200 when every one was known, else 201).
_RECORDED = PolymorphicProxySerializer(
    component_name="InteractionsRecorded",
    serializers=[InteractionReadSerializer, InteractionReadSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


class CanRecordInteractions(BasePermission):
    """A token whose user holds surveys.add_interaction: the CRM's scope (its group); a
    reporting token reads responses and records nothing."""

    message = _(
        "This token may not record interactions: its user needs the permission "
        "surveys.add_interaction (the CRM group)."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("surveys.add_interaction"))


class InteractionsView(APIView):
    # The CRM's endpoint: a token only. A staff session (agent, lead) must not record
    # interactions, which plan survey SMS to any number; the admin does not let them either.
    authentication_classes = [TokenAuthentication]
    permission_classes = [CanRecordInteractions]
    parser_classes = [DepthLimitedJSONParser]  # nested customer data: JSON only

    @extend_schema(
        request=InteractionWriteSerializer(many=True),
        responses={
            200: _RECORDED,
            201: _RECORDED,
            409: OpenApiResponse(
                InteractionConflictSerializer,
                description="An external_id already recorded with other values",
            ),
            403: OpenApiResponse(
                description="The token's user lacks surveys.add_interaction (a CRM token has "
                "it; a reporting token does not)",
            ),
        },
        description="Record one interaction (an object) or several (a list), all or nothing. "
        "A known external_id posted again with the same values is returned unchanged with "
        "created=false; with other values nothing is stored and the answer is 409, naming "
        "the fields that differ. occurred_at must lie between 1900 and 5 minutes from now; "
        "an interaction older than its survey's maximum age is recorded but not surveyed "
        "(suppressed_reason too_old).",
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        serializer = InteractionWriteSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        try:
            recorded = interactions_record(items=items)
        except InteractionConflict as exc:
            detail = _("An external_id is already recorded with other values; nothing was stored.")
            conflicts = [asdict(c) for c in exc.conflicts]
            return Response({"detail": detail, "conflicts": conflicts}, status.HTTP_409_CONFLICT)
        created = {r.interaction.pk: r.created for r in recorded}
        out = InteractionReadSerializer(
            [r.interaction for r in recorded], many=True, context={"created": created}
        ).data
        code = status.HTTP_201_CREATED if any(created.values()) else status.HTTP_200_OK
        return Response(out if many else out[0], status=code)
