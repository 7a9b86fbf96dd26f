from django.urls import include, path

from nps.dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("assets/plotly.js", views.plotly_js, name="dashboard-plotly"),
    # The language switch (Django's set_language view, POST with the next URL).
    path("i18n/", include("django.conf.urls.i18n")),
]
