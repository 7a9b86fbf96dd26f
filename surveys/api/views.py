"""POST /api/v1/interactions/: one interaction or a list, idempotent on external_id."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import TokenAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.serializers import InteractionReadSerializer, InteractionWriteSerializer
from surveys.interactions import interactions_record


class InteractionsView(APIView):
    # The CRM's endpoint: a token only. A staff session (agent, lead) must not record
    # interactions, which plan survey SMS to any number; the admin does not let them either.
    authentication_classes = [TokenAuthentication]
    parser_classes = [JSONParser]  # nested customer data: JSON only

    @extend_schema(
        request=InteractionWriteSerializer(many=True),
        responses={200: InteractionReadSerializer(many=True), 201: InteractionReadSerializer},
        description="Record one interaction (an object) or several (a list), all or nothing. "
        "A known external_id is returned unchanged with created=false.",
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        serializer = InteractionWriteSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        recorded = interactions_record(items=items)
        created = {r.interaction.pk: r.created for r in recorded}
        out = InteractionReadSerializer(
            [r.interaction for r in recorded], many=True, context={"created": created}
        ).data
        code = status.HTTP_201_CREATED if any(created.values()) else status.HTTP_200_OK
        return Response(out if many else out[0], status=code)
