"""When an interaction can have happened: the range every occurred_at is checked against.

The range keeps every later step in bounds: planning adds the survey delay, quiet hours
convert to the customer's zone, the dashboard to the reporting zone. Near datetime's
limits (year 1, year 9999) those overflow; a time in the future is a clock or data error
that would otherwise hold a survey back until then. Interactions older than a survey's
maximum age are still recorded (eligibility suppresses them as too old).
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of the CRM and ours disagree a little


def validate_occurred_at(value: datetime) -> None:
    """A Django validator (model field, admin form and API serializer alike)."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value < EARLIEST:
        raise ValidationError(
            _("occurred_at must be on or after %(earliest)s."),
            code="too_early",
            params={"earliest": "1900-01-01T00:00:00Z"},
        )
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError(
            _("occurred_at is more than %(minutes)d minutes in the future."),
            code="future",
            params={"minutes": FUTURE_TOLERANCE.seconds // 60},
        )
