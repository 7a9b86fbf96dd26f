"""Targets per unit and period: what a value may be, and splitting a target down the tree.

A target's value lies in its metric's range (`target_value_error`): NPS -100..100, the
percent metrics 0..100, hours above 0. Operators set a unit's target, then copy it to the
units below for the same period (`targets_split`), and adjust those that differ.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from nps.models import Target, TargetMetric

PERCENT_METRICS = (
    TargetMetric.DETRACTOR_SHARE,
    TargetMetric.FIRST_CONTACT_SLA,
    TargetMetric.RECOVERY_RATE,
)


def target_value_error(metric: str, value: float) -> str | None:
    """Why `value` cannot be a target of `metric`, or None when it can."""
    if metric == TargetMetric.NPS and not -100 <= value <= 100:
        return _("An NPS target lies between -100 and 100.")
    if metric in PERCENT_METRICS and not 0 <= value <= 100:
        return _("A percentage target lies between 0 and 100.")
    if metric == TargetMetric.RESOLUTION_HOURS and not value > 0:
        return _("A target in hours is above 0.")
    return None


def targets_split(*, target_ids: Iterable[int]) -> tuple[int, int]:
    """Copy each target to its unit's direct children for the same metric and period; a
    child that already has one (same metric and start) keeps it. Returns (created, kept)."""
    created = kept = 0
    with transaction.atomic():
        for target in Target.objects.filter(pk__in=list(target_ids)).select_related("unit"):
            for child in target.unit.children.all():
                _row, new = Target.objects.get_or_create(
                    unit=child,
                    metric=target.metric,
                    period_start=target.period_start,
                    defaults={"period_end": target.period_end, "value": target.value},
                )
                created, kept = created + new, kept + (not new)
    return created, kept
