from django.urls import path

from nps import scorecards_views

urlpatterns = [
    path("", scorecards_views.scorecards, name="scorecards"),
    path("staff/", scorecards_views.staff, name="scorecards-staff"),
]
