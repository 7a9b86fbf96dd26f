"""Which reports a person may read: those of the units followups.roles.unit_scope gives
them (supervisors every unit; unit owners their units and every unit below)."""

from django.db.models import QuerySet

from followups.roles import User, unit_scope
from nps.models import Report


def reports_visible(user: User) -> QuerySet[Report]:
    scope = unit_scope(user)
    reports = Report.objects.select_related("unit")
    return reports if scope is None else reports.filter(unit_id__in=scope)
