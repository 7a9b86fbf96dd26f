"""Rollup tables for the supervisor dashboard: counts per local day, grain and dimension.

Every table has the same dimensions (DailyDims) and holds each day several times, once
per grain (nps.reporting.grains): the finest grain keeps every dimension, coarser ones
keep a few and store the others as "" (team: 0). A dashboard read picks the smallest
grain that holds the dimensions it filters and groups by, so it sums hundreds of rows a
day, not one per response. Missing text dimensions are "" and a missing team 0 (never
NULL), so the unique constraint holds; its index leads with (grain, day), which every
read filters on. The rows are derived data: nps.reporting.refresh recomputes a whole
day from the raw rows, so nothing else writes here.
"""

import secrets
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import ReasonCategory

# Minutes to first contact (the customer reached) and to the first attempt (any outcome):
# the lower bound of each histogram bucket (the last is open).
CONTACT_BUCKETS = (0, 15, 30, 60, 120, 240, 480, 1440, 2880)
DIMENSION_FIELDS = ("touchpoint", "channel", "business_type", "region", "tier", "team_id", "agent")
KEY_FIELDS = ("grain", "day", *DIMENSION_FIELDS)
NO_TEAM = 0
COUNTS = ["promoters", "passives", "detractors"]
REGION_FIRST = [
    "grain",
    "region",
    "tier",
    "day",
    *(name for name in DIMENSION_FIELDS if name not in ("region", "tier")),
]


def bucket_field(lower: int) -> str:
    return f"contact_min_{lower}"


def attempt_bucket_field(lower: int) -> str:
    return f"attempt_min_{lower}"


def suppressed_field(reason: str) -> str:
    return f"suppressed_{reason}"


class DailyDims(models.Model):
    grain = models.PositiveSmallIntegerField()  # bit i set: DIMENSION_FIELDS[i] kept
    day = models.DateField()  # local date in settings.NPS_REPORTING_TIME_ZONE
    touchpoint = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    business_type = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=1, blank=True)
    team_id = models.IntegerField(default=NO_TEAM)  # a followups.Team id, 0: none
    agent = models.CharField(max_length=64, blank=True)  # Interaction.staff_id

    class Meta:
        abstract = True


class NpsDaily(DailyDims):
    """Survey responses by the local day they arrived (Response.created_at)."""

    promoters = models.PositiveIntegerField(default=0)
    passives = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)

    class Meta:
        # On PostgreSQL both indexes carry the counts, so a read is an index-only scan. The
        # second serves the region (and tier) filters before the day range: a supervisor's
        # region on a fine grain seeks straight to its rows instead of reading every region.
        constraints: ClassVar = [
            models.UniqueConstraint(fields=KEY_FIELDS, name="npsdaily_key", include=COUNTS)
        ]
        indexes: ClassVar = [
            models.Index(fields=["day"], name="npsdaily_day"),
            models.Index(fields=REGION_FIRST, name="npsdaily_region_first", include=COUNTS),
        ]

    def __str__(self) -> str:
        return f"{self.day} NPS"


class FunnelDaily(DailyDims):
    """Interactions by local day (Interaction.occurred_at) and what their survey reached."""

    interactions = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    # One column per SuppressReason code (faster to sum than JSON); a test checks they match.
    suppressed_opted_out = models.PositiveIntegerField(default=0)
    suppressed_fatigue = models.PositiveIntegerField(default=0)
    suppressed_invalid_number = models.PositiveIntegerField(default=0)
    suppressed_sampled_out = models.PositiveIntegerField(default=0)
    suppressed_no_survey = models.PositiveIntegerField(default=0)
    suppressed_open_case = models.PositiveIntegerField(default=0)
    suppressed_daily_cap = models.PositiveIntegerField(default=0)
    suppressed_tier_cap = models.PositiveIntegerField(default=0)
    suppressed_too_old = models.PositiveIntegerField(default=0)
    suppressed_contact_budget = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=KEY_FIELDS, name="funneldaily_key")]
        indexes: ClassVar = [models.Index(fields=["day"], name="funneldaily_day")]

    def __str__(self) -> str:
        return f"{self.day} funnel"


class CaseDaily(DailyDims):
    """Callback cases by the local day they opened (Case.opened_at); team is the case's."""

    opened = models.PositiveIntegerField(default=0)
    first_attempted = models.PositiveIntegerField(default=0)  # any attempt, reached or not
    first_contacted = models.PositiveIntegerField(default=0)  # the customer reached
    first_contact_in_sla = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    unreachable = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)
    recovered = models.PositiveIntegerField(default=0)
    # Histogram of minutes to first contact, one column per CONTACT_BUCKETS lower bound.
    contact_min_0 = models.PositiveIntegerField(default=0)
    contact_min_15 = models.PositiveIntegerField(default=0)
    contact_min_30 = models.PositiveIntegerField(default=0)
    contact_min_60 = models.PositiveIntegerField(default=0)
    contact_min_120 = models.PositiveIntegerField(default=0)
    contact_min_240 = models.PositiveIntegerField(default=0)
    contact_min_480 = models.PositiveIntegerField(default=0)
    contact_min_1440 = models.PositiveIntegerField(default=0)
    contact_min_2880 = models.PositiveIntegerField(default=0)
    # Histogram of minutes to the first attempt, one column per CONTACT_BUCKETS lower bound.
    attempt_min_0 = models.PositiveIntegerField(default=0)
    attempt_min_15 = models.PositiveIntegerField(default=0)
    attempt_min_30 = models.PositiveIntegerField(default=0)
    attempt_min_60 = models.PositiveIntegerField(default=0)
    attempt_min_120 = models.PositiveIntegerField(default=0)
    attempt_min_240 = models.PositiveIntegerField(default=0)
    attempt_min_480 = models.PositiveIntegerField(default=0)
    attempt_min_1440 = models.PositiveIntegerField(default=0)
    attempt_min_2880 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=KEY_FIELDS, name="casedaily_key")]
        indexes: ClassVar = [models.Index(fields=["day"], name="casedaily_day")]

    def __str__(self) -> str:
        return f"{self.day} cases"


class ReasonDaily(DailyDims):
    """Detractor responses by local day and reason category (a response may have several)."""

    reason = models.ForeignKey(ReasonCategory, on_delete=models.CASCADE, related_name="+")
    detractors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=[*KEY_FIELDS, "reason"], name="reasondaily_key")
        ]
        indexes: ClassVar = [models.Index(fields=["day"], name="reasondaily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason_id}"


class TeamMap(models.Model):
    """The team routing picks for a (region, tier, touchpoint): how responses get a team.

    Rewritten by every rollup refresh for the keys of the days it recomputes (routing
    rules may change), so the SQL that builds the rollups can join it.
    """

    region = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=1, blank=True)
    touchpoint = models.CharField(max_length=20, blank=True)
    team_id = models.IntegerField(default=NO_TEAM)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["region", "tier", "touchpoint"], name="teammap_key")
        ]

    def __str__(self) -> str:
        return f"{self.region}/{self.tier}/{self.touchpoint} -> {self.team_id}"


# ---------------------------------------------------------------- outbound webhooks


class EventType(models.TextChoices):
    RESPONSE_RECORDED = "response.recorded", _("Response recorded")
    CASE_OPENED = "case.opened", _("Case opened")
    CASE_ASSIGNED = "case.assigned", _("Case assigned")
    CASE_RESOLVED = "case.resolved", _("Case resolved")
    CASE_CLOSED = "case.closed", _("Case closed")
    ALERT_RAISED = "alert.raised", _("Alert raised")
    PROBLEM_CHANGED = "problem.changed", _("Problem changed")
    TEST = "test", _("Test event")  # sent from the admin only, to check an address


class WebhookKind(models.TextChoices):
    GENERIC = "generic", _("Generic (signed JSON)")
    WECOM = "wecom", _("WeCom group bot")
    DINGTALK = "dingtalk", _("DingTalk group bot")


def webhook_secret_new() -> str:
    return secrets.token_hex(32)


class WebhookSubscription(models.Model):
    """Another system (or a WeCom / DingTalk group) told of the events it subscribes to."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"),
        max_length=500,
        help_text=_("WeCom: the group bot's webhook address (with its key). "
                    "DingTalk: the robot's address with its access_token."),
    )  # fmt: skip
    kind = models.CharField(
        _("kind"), max_length=10, choices=WebhookKind, default=WebhookKind.GENERIC
    )
    event_types = models.JSONField(
        _("events"), default=list, help_text=_("The events sent to this address.")
    )
    secret = models.CharField(
        _("secret"),
        max_length=200,
        blank=True,
        default=webhook_secret_new,
        help_text=_("Generic: the HMAC-SHA256 key the receiver checks signatures with. "
                    "DingTalk: the robot's signing secret (SEC...). WeCom: not used."),
    )  # fmt: skip
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering: ClassVar = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        known = set(EventType.values) - {EventType.TEST}
        if not isinstance(self.event_types, list) or not set(self.event_types) <= known:
            raise ValidationError({"event_types": _("A list of known event types.")})
        if self.kind in (WebhookKind.GENERIC, WebhookKind.DINGTALK) and not self.secret:
            raise ValidationError({"secret": _("This kind of webhook needs a secret.")})


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Given up")


class WebhookDelivery(models.Model):
    """One event for one subscription: an outbox row written in the event's transaction,
    sent (and retried) by nps.outbound after commit."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_type = models.CharField(_("event"), max_length=32, choices=EventType)
    event_id = models.UUIDField(_("event id"), help_text=_("The same on every attempt."))
    at = models.DateTimeField(_("event time"))
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(
        _("attempts"), default=0, help_text=_("Since it was queued or replayed.")
    )
    queued_at = models.DateTimeField(_("queued at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    last_request = models.TextField(_("last request body"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering: ClassVar = ["-created", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhookdelivery_once_per_event"
            )
        ]
        indexes: ClassVar = [
            # the sweeper: rows still to send, by when
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
