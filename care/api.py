"""The care API: a store or the CRM reports an offer code redeemed.

POST /api/v1/care/offers/<code>/redeem/ with a token (as the interactions API): 200 with
the campaign and whether this call made the customer a participant (false when the code
was redeemed before: the call is idempotent), 404 for a code nobody holds.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care.participation import offer_redeem

_REDEEMED = inline_serializer(
    name="OfferRedeemed",
    fields={
        "campaign": serializers.IntegerField(),
        "participation": serializers.CharField(),
        "joined_at": serializers.DateTimeField(),
        "created": serializers.BooleanField(),
    },
)


class OfferRedeemView(APIView):
    authentication_classes = [TokenAuthentication]

    @extend_schema(
        request=None,
        responses={200: _REDEEMED, 404: OpenApiResponse(description="No customer holds this code")},
        description="Record that a customer redeemed their care campaign offer code. "
        "Posting the same code again changes nothing and answers created=false.",
    )
    def post(self, request: Request, code: str) -> Response:
        member, joined = offer_redeem(code=code)
        if member is None:
            return Response(
                {"detail": _("No customer holds this code.")}, status.HTTP_404_NOT_FOUND
            )
        return Response(
            {
                "campaign": member.campaign_id,
                "participation": member.participation,
                "joined_at": member.participated_at,
                "created": joined,
            }
        )
