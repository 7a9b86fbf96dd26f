"""Login lockouts in the admin: a superuser sees each locked pair and unlocks it by deleting it."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin

# Only the attempts: successful logins are not logged (AXES_DISABLE_ACCESS_LOG).
admin.site.register(AccessAttempt, AccessAttemptAdmin)

# Registers the webhook admins, the alert rules and the alerts.
from nps import admin_alerts, admin_outbound  # noqa: E402, F401
