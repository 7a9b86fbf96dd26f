import axes.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nps.reports import checks  # noqa: F401 (registers the Chromium system check)


class NpsConfig(AppConfig):
    name = "nps"
    verbose_name = "NPS"

    def ready(self) -> None:
        # Imported here, not at the top: the receivers use models, loaded only by now.
        from followups.signals import case_events_recorded, problems_changed
        from nps.outbound import events
        from nps.reporting import attribution
        from surveys.signals import (
            interactions_attributed,
            response_classified,
            responses_recorded,
        )

        response_classified.connect(events.on_response_classified, dispatch_uid="nps-outbound")
        responses_recorded.connect(events.on_responses_recorded, dispatch_uid="nps-outbound")
        case_events_recorded.connect(events.on_case_events_recorded, dispatch_uid="nps-outbound")
        interactions_attributed.connect(
            attribution.on_interactions_attributed, dispatch_uid="nps-rollups"
        )
        problems_changed.connect(events.on_problems_changed, dispatch_uid="nps-outbound")


class AxesConfig(axes.apps.AppConfig):
    """django-axes (login lockouts) under a name staff can read, in their language."""

    default = False  # nps's own config stays NpsConfig; settings name this one explicitly
    verbose_name = _("Login lockouts")
