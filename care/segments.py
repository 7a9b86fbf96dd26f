"""Segments: saved, named filters over the pool and the customer profile.

A segment's filters (Segment.filters, JSON) may hold these keys, every one optional:

- kind: "explicit", "potential" or "any" (the default): the kind of an open pool stay;
- min_risk: a number from 0 to 1, the customer's RiskScore at least this;
- tiers: value tiers (["A", "B"]);
- regions: regions (["BJ"]);
- reasons: entry reasons (EntryReason values) of an open pool stay;
- touchpoints: touchpoints the customer used in the last TOUCHPOINT_DAYS days;
- preferences: {feature code: minimum value 0-1}, every one required.

Whatever the filters, a segment holds only customers with an open pool stay; kind and
reasons are both asked of the same stay when both are given.
"""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from care.models import (
    CustomerPreference,
    EntryReason,
    MemberKind,
    PoolMember,
    PreferenceFeature,
    Segment,
)
from surveys.models import Customer, Interaction, Tier, Touchpoint

TOUCHPOINT_DAYS = 90
KINDS = ("explicit", "potential", "any")
KEYS = ("kind", "min_risk", "tiers", "regions", "reasons", "touchpoints", "preferences")
# The interactions a campaign's post-survey is sent on (care.campaigns) are ours, not the
# customer's: they say nothing about where the customer went.
OWN_INTERACTION_PREFIX = "care-"


def _strings(filters: dict[str, Any], key: str, allowed: set[str] | None) -> list[str]:
    value = filters.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("%(key)s must be a list of texts.") % {"key": key}, code="invalid")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValidationError(
                _("Unknown %(key)s: %(values)s.") % {"key": key, "values": ", ".join(unknown)},
                code="invalid",
            )
    return value


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(
            _("%(what)s must be a number from 0 to 1.") % {"what": what}, code="invalid"
        )
    return float(value)


def segment_filters_clean(filters: Any) -> dict[str, Any]:
    """The filters checked and normalised; ValidationError says what is wrong."""
    if not isinstance(filters, dict):
        raise ValidationError(_("The filters must be a JSON object."), code="invalid")
    unknown = sorted(set(filters) - set(KEYS))
    if unknown:
        raise ValidationError(
            _("Unknown filters: %(keys)s. Known: %(known)s.")
            % {"keys": ", ".join(unknown), "known": ", ".join(KEYS)},
            code="invalid",
        )
    clean: dict[str, Any] = {}
    kind = filters.get("kind", "any")
    if kind not in KINDS:
        raise ValidationError(_("kind must be explicit, potential or any."), code="invalid")
    if kind != "any":
        clean["kind"] = kind
    if filters.get("min_risk") is not None:
        clean["min_risk"] = _fraction(filters["min_risk"], "min_risk")
    for key, allowed in (
        ("tiers", set(Tier.values)),
        ("regions", None),
        ("reasons", set(EntryReason.values)),
        ("touchpoints", set(Touchpoint.values)),
    ):
        if values := _strings(filters, key, allowed):
            clean[key] = values
    preferences = filters.get("preferences", {})
    if not isinstance(preferences, dict):
        raise ValidationError(
            _("preferences must be an object {feature code: minimum value}."), code="invalid"
        )
    if preferences:
        known = set(
            PreferenceFeature.objects.filter(code__in=list(preferences)).values_list(
                "code", flat=True
            )
        )
        missing = sorted(set(preferences) - known)
        if missing:
            raise ValidationError(
                _("Unknown preference features: %(codes)s.") % {"codes": ", ".join(missing)},
                code="invalid",
            )
        clean["preferences"] = {
            code: _fraction(value, code) for code, value in sorted(preferences.items())
        }
    return clean


def segment_customers(segment: Segment, *, at: datetime | None = None) -> QuerySet[Customer]:
    """The customers the segment holds now (or at `at`): always only those in the pool."""
    filters = segment_filters_clean(segment.filters)
    at = at or timezone.now()
    stays = PoolMember.objects.filter(customer=OuterRef("pk"), entered_at__lte=at).filter(
        Q(left_at__isnull=True) | Q(left_at__gt=at)
    )
    if "kind" in filters:
        stays = stays.filter(kind=MemberKind(filters["kind"]))
    if "reasons" in filters:
        stays = stays.filter(reason__in=filters["reasons"])
    customers = Customer.objects.filter(Exists(stays))
    if "min_risk" in filters:
        customers = customers.filter(risk__score__gte=filters["min_risk"])
    if "tiers" in filters:
        customers = customers.filter(tier__in=filters["tiers"])
    if "regions" in filters:
        customers = customers.filter(region__in=filters["regions"])
    if "touchpoints" in filters:
        used = Interaction.objects.filter(
            customer=OuterRef("pk"),
            touchpoint__in=filters["touchpoints"],
            occurred_at__gt=at - timedelta(days=TOUCHPOINT_DAYS),
            occurred_at__lte=at,
        ).exclude(external_id__startswith=OWN_INTERACTION_PREFIX)
        customers = customers.filter(Exists(used))
    for code, minimum in filters.get("preferences", {}).items():
        customers = customers.filter(
            Exists(
                CustomerPreference.objects.filter(
                    customer=OuterRef("pk"), feature__code=code, value__gte=minimum
                )
            )
        )
    return customers.order_by("pk")


def segment_count(segment: Segment) -> int:
    """How many customers the segment holds now."""
    return segment_customers(segment).count()
