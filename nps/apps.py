import axes.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NpsConfig(AppConfig):
    name = "nps"
    verbose_name = "NPS"


class AxesConfig(axes.apps.AppConfig):
    """django-axes (login lockouts) under a name staff can read, in their language."""

    default = False  # nps's own config stays NpsConfig; settings name this one explicitly
    verbose_name = _("Login lockouts")
