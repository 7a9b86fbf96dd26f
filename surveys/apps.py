from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        # Importing registers the system checks; ready() is Django's place to do it once.
        from surveys import checks  # noqa: F401
