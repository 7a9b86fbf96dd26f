from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def roles_after_migrate(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    # Imported late: apps.py loads before the models that permissions needs.
    from followups.permissions import roles_ensure

    roles_ensure(using=using)


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # Imported here, not at the top: the receivers use models, loaded only by now.
        from followups import receivers, timezones
        from surveys.signals import (
            interactions_attributed,
            response_classified,
            responses_recorded,
        )

        response_classified.connect(receivers.on_response_classified, dispatch_uid="followups")
        responses_recorded.connect(receivers.on_responses_recorded, dispatch_uid="followups")
        interactions_attributed.connect(
            receivers.on_interactions_attributed, dispatch_uid="followups-units"
        )
        user_logged_in.connect(timezones.remember_time_zone, dispatch_uid="followups-zone")
        # After our models' permissions exist (auth creates them on the same signal, earlier).
        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="followups-roles")
