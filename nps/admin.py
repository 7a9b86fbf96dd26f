"""Login lockouts in the admin: a superuser sees each locked pair and unlocks it by deleting it."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin

# Only the attempts: successful logins are not logged (AXES_DISABLE_ACCESS_LOG).
admin.site.register(AccessAttempt, AccessAttemptAdmin)

from nps import (  # noqa: E402, F401 (registers the webhook, target, alert and report admins)
    admin_alerts,
    admin_outbound,
    admin_reports,
    admin_targets,
)
