from django.urls import path

from nps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>.pdf", views.report_pdf, name="pdf"),
]
