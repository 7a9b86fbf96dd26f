from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevtoolsConfig(AppConfig):
    """Holds `manage.py run_simulator`; no models."""

    name = "devtools"
    verbose_name = _("Development tools")
