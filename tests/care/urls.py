"""The project's URLs plus the care offer endpoint, as nps/urls.py wires it."""

from django.urls import path

from care.api import OfferRedeemView
from nps.urls import urlpatterns as project

urlpatterns = [
    path(
        "api/v1/care/offers/<str:code>/redeem/",
        OfferRedeemView.as_view(),
        name="api-care-offer-redeem",
    ),
    *project,
]
