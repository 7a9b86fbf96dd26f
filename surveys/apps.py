from django.apps import AppConfig
from django.db.models import Field, ForeignObject
from django.utils.translation import gettext_lazy as _

from surveys.among import Among


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        # Importing registers the system checks; ready() is Django's place to do it once.
        from surveys import checks  # noqa: F401

        # `field__among=values`: one array parameter on PostgreSQL (surveys/among.py).
        # Foreign keys have their own lookups: registered there too (the values are keys).
        Field.register_lookup(Among)
        ForeignObject.register_lookup(Among)
