from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Customer care")

    def ready(self) -> None:
        # Imported here, not at the top: the receivers use models, loaded only by now.
        from care import campaigns  # noqa: F401  (its receivers: campaign answers)
        from care.receivers import pool_receivers_connect

        pool_receivers_connect()
