"""Rollups after attribution: interactions that got their unit after the fact (a CRM id
mapped later, surveys.units) change the unit rows of the local days they counted on."""

from datetime import date
from typing import Any

from django.utils import timezone

from followups.models import Case
from nps.reporting.days import reporting_zone
from surveys.models import Interaction, Response, Unit
from surveys.queue import task_queue

REFRESH_DAYS_TASK = "nps.tasks.refresh_rollup_days"


def interactions_days(*, interaction_ids: list[int]) -> set[date]:
    """The local days whose rollups count these interactions: the funnel's (occurred), the
    answers' (NPS, reasons) and their cases' (opened)."""
    times = [
        *Interaction.objects.filter(pk__in=interaction_ids).values_list("occurred_at", flat=True),
        *Response.objects.filter(interaction_id__in=interaction_ids).values_list(
            "created_at", flat=True
        ),
        *Case.objects.filter(response__interaction_id__in=interaction_ids).values_list(
            "opened_at", flat=True
        ),
    ]
    zone = reporting_zone()
    return {timezone.localtime(at, zone).date() for at in times}


def on_interactions_attributed(
    sender: type[Unit], unit_id: int, interaction_ids: list[int], **kwargs: Any
) -> None:
    # After commit: the refresh must see the interactions' and cases' new unit. A lost
    # publish is caught by the nightly rebuild of the last 30 days (nps.tasks).
    days = sorted(interactions_days(interaction_ids=interaction_ids))
    if days:
        task_queue(REFRESH_DAYS_TASK, [day.isoformat() for day in days])
