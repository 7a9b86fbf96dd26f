from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        from followups import receivers
        from surveys.signals import response_classified

        response_classified.connect(receivers.on_response_classified, dispatch_uid="followups")
