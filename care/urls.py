from django.urls import path

from care import views

urlpatterns = [
    path("pool/", views.pool, name="care-pool"),
    path("campaigns/", views.campaigns, name="care-campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign, name="care-campaign"),
]
