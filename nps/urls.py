from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from care.api import OfferRedeemView
from followups.api import CaseDetailView, CaseListView
from nps.health import HealthView
from nps.metrics import metrics
from surveys import webhooks
from surveys.api.responses import ResponseDetailView, ResponseListView
from surveys.api.views import InteractionsView
from surveys.views import survey_link

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("dashboard/", include("nps.dashboard.urls")),
    path("care/", include("care.urls")),
    path("scorecards/", include("nps.scorecards_urls")),
    path("reports/", include("nps.reports.urls")),
    path("api/v1/interactions/", InteractionsView.as_view(), name="api-interactions"),
    path("api/v1/responses/", ResponseListView.as_view(), name="api-responses"),
    path("api/v1/responses/<int:pk>/", ResponseDetailView.as_view(), name="api-response"),
    path("api/v1/cases/", CaseListView.as_view(), name="api-cases"),
    path("api/v1/cases/<int:pk>/", CaseDetailView.as_view(), name="api-case"),
    path(
        "api/v1/care/offers/<str:code>/redeem/",
        OfferRedeemView.as_view(),
        name="api-care-offer-redeem",
    ),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("s/<str:token>", survey_link, name="survey-link"),
    path("webhooks/<slug:gateway>/inbound/", webhooks.inbound, name="webhook-inbound"),
    path("webhooks/<slug:gateway>/status/", webhooks.status, name="webhook-status"),
    # Health for load balancers and monitoring (no login: no personal data in the answer).
    path("health/", HealthView.as_view(), name="health"),
    path("health/web/", HealthView.as_view(web_only=True), name="health-web"),
    path("metrics", metrics, name="metrics"),  # Prometheus, bearer token (NPS_METRICS_TOKEN)
]

handler404 = "nps.errors.not_found"
