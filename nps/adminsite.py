"""The admin, branded as the product: its name in the header and the page titles (in the
staff member's language), and a link to the dashboard for those who may open it."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class NpsAdminSite(admin.AdminSite):
    site_header = _("NPS loop")
    site_title = _("NPS loop")
    index_title = _("What you work with")
    site_url = None  # "/" only leads back to the admin: the dashboard link replaces it

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        # Imported here: this module is loaded with the app registry, before any model.
        from nps.dashboard.access import may_see_dashboard

        context = super().each_context(request)
        context["dashboard_url"] = reverse("dashboard") if may_see_dashboard(request.user) else ""
        return context


class NpsAdminConfig(AdminConfig):
    """django.contrib.admin with NpsAdminSite as `admin.site`."""

    default_site = "nps.adminsite.NpsAdminSite"
