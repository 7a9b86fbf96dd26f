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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import ReasonCategory, Touchpoint, Unit

# Minutes to first contact (the customer reached) and to the first attempt (any outcome):
# the lower bound of each histogram bucket (the last is open).
CONTACT_BUCKETS = (0, 15, 30, 60, 120, 240, 480, 1440, 2880)
# Appended in that order: a grain is a bit mask over this tuple (nps.reporting.grains), so a
# new dimension goes at the end and the stored masks keep their meaning.
DIMENSION_FIELDS = (
    "touchpoint", "channel", "business_type", "region", "tier", "team_id", "agent", "unit_id"
)  # fmt: skip
INT_DIMENSIONS = ("team_id", "unit_id")  # 0: none
KEY_FIELDS = ("grain", "day", *DIMENSION_FIELDS)
NO_TEAM = 0
NO_UNIT = 0
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


class Dims(models.Model):
    """The dimensions every dashboard filter reads (DIMENSION_FIELDS)."""

    touchpoint = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    business_type = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=1, blank=True)
    team_id = models.IntegerField(default=NO_TEAM)  # a followups.Team id, 0: none
    agent = models.CharField(max_length=64, blank=True)  # Interaction.staff_id
    # The surveys.Unit that served the interaction (the case's responsible unit), 0: none.
    # A unit's figures are the sum over its subtree (surveys.units.units_below).
    unit_id = models.IntegerField(default=NO_UNIT, db_default=NO_UNIT)

    class Meta:
        abstract = True


class DailyDims(Dims):
    grain = models.PositiveSmallIntegerField()  # bit i set: DIMENSION_FIELDS[i] kept
    day = models.DateField()  # local date in settings.NPS_REPORTING_TIME_ZONE

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
        # The third finds one agent's rows on the grains of the agent with another dimension
        # (the agent's figures broken down by touchpoint, region...): that dimension comes
        # before the agent in the key, so the key index would read every agent's rows.
        indexes: ClassVar = [
            models.Index(fields=["day"], name="npsdaily_day"),
            models.Index(fields=REGION_FIRST, name="npsdaily_region_first", include=COUNTS),
            models.Index(fields=["grain", "agent", "day"], name="npsdaily_agent_first"),
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
    # Minutes from opening to resolution of the resolved cases, summed and squared-summed:
    # the mean time to resolve and its interval (a quarter of a province overflows 2**31).
    resolution_minutes = models.PositiveBigIntegerField(default=0, db_default=0)
    resolution_minutes_sq = models.PositiveBigIntegerField(default=0, db_default=0)
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
    """Responses by local day and reason category their comment matched (a response may have
    several), per category: the detractors' reasons are the problems, the promoters' the
    drivers. A row may have no detractors (a reason only promoters mentioned)."""

    reason = models.ForeignKey(ReasonCategory, on_delete=models.CASCADE, related_name="+")
    detractors = models.PositiveIntegerField(default=0)
    passives = models.PositiveIntegerField(default=0, db_default=0)
    promoters = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=[*KEY_FIELDS, "reason"], name="reasondaily_key")
        ]
        indexes: ClassVar = [models.Index(fields=["day"], name="reasondaily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason_id}"


# A rollup keeps SMS cost in ten-thousandths of its currency, the precision of GatewayPrice
# and of a send's cost: integers sum exactly on every database and grain.
COST_UNITS = 10_000
SEND_SOURCES = ("invitation", "message")  # a survey's own SMS (any purpose); a conversation SMS


class SendDaily(DailyDims):
    """SMS sent about the interactions of a local day (Interaction.occurred_at): every
    invitation's SMS and its conversation messages, their segments and their cost
    (recorded with each send at the gateway's price, surveys.sendcost), by the currency of
    the gateway's price. An SMS sent without a price counts in `sms` but not in `priced`."""

    source = models.CharField(max_length=12)  # one of SEND_SOURCES
    currency = models.CharField(max_length=3, blank=True)  # the gateway price's; "" none
    sms = models.PositiveIntegerField(default=0)
    priced = models.PositiveIntegerField(default=0)  # of them, sent with a price
    segments = models.PositiveBigIntegerField(default=0)
    cost = models.PositiveBigIntegerField(default=0)  # in 1 / COST_UNITS of the currency

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=[*KEY_FIELDS, "source", "currency"], name="senddaily_key"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["day"], name="senddaily_day")]

    def __str__(self) -> str:
        return f"{self.day} sends"


class DetractorComment(Dims):
    """A survey detractor who left a comment: the verbatims' narrow table.

    One row per response, with the dimensions of the rollups (the team is routing's, as in
    NpsDaily) and its local day, recomputed with the rollups (nps.reporting.refresh). The
    comment itself stays on the response: a comment anonymised by retention or erasure is
    never copied here. Each index leads with a dimension (or the day) and ends in the
    order of "the latest first", so the newest matching rows are read straight off it.
    """

    response = models.OneToOneField(
        "surveys.Response", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()  # local date of created_at in settings.NPS_REPORTING_TIME_ZONE
    created_at = models.DateTimeField()  # the response's

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["day", "created_at", "response"], name="detractorcomment_day"),
            *(
                models.Index(
                    fields=[name, "day", "created_at", "response"],
                    name=f"detractorcomment_{name}",
                )
                for name in DIMENSION_FIELDS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} comment of response {self.response_id}"


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


# ---------------------------------------------------------------- targets


class TargetMetric(models.TextChoices):
    NPS = "nps", _("NPS")
    DETRACTOR_SHARE = "detractor_share", _("Detractor share (%)")
    FIRST_CONTACT_SLA = "first_contact_sla", _("First contact within SLA (%)")
    RESOLUTION_HOURS = "resolution_hours", _("Mean hours to resolve")
    RECOVERY_RATE = "recovery_rate", _("Recovery rate (%)")


# Whether a higher figure is the better one, per metric (the scorecards' one home).
HIGHER_IS_BETTER = {
    TargetMetric.NPS: True,
    TargetMetric.DETRACTOR_SHARE: False,
    TargetMetric.FIRST_CONTACT_SLA: True,
    TargetMetric.RESOLUTION_HOURS: False,
    TargetMetric.RECOVERY_RATE: True,
}


class Target(models.Model):
    """What a unit is to reach on one metric over a period (targets split down the tree)."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="targets", verbose_name=_("unit")
    )
    metric = models.CharField(_("metric"), max_length=20, choices=TargetMetric)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (inclusive)"))
    value = models.FloatField(_("target"))

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering: ClassVar = ["-period_start", "unit__name", "metric"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["unit", "metric", "period_start"], name="target_once_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="target_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_metric_display()} {self.value:g}"


# ---------------------------------------------------------------- alerts


class AlertKind(models.TextChoices):
    THRESHOLD = "threshold", _("Threshold")
    DROP = "drop", _("Significant drop")
    SURGE = "surge", _("Surge in one reason")
    SLA_BACKLOG = "sla_backlog", _("SLA backlog")


class AlertMetric(models.TextChoices):
    NPS = "nps", _("NPS")
    DETRACTOR_SHARE = "detractor_share", _("Detractor share (%)")
    REASON_SHARE = "reason_share", _("A reason's share of answers (%)")
    REASON_COUNT = "reason_count", _("A reason's detractors")
    OVERDUE_CASES = "overdue_cases", _("Cases past their SLA")


class AlertPer(models.TextChoices):
    UNIT = "unit", _("Each unit")
    TOUCHPOINT = "touchpoint", _("Each touchpoint")
    REGION = "region", _("Each region")


class AlertRule(models.Model):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=AlertKind)
    metric = models.CharField(_("metric"), max_length=20, choices=AlertMetric)
    per = models.CharField(_("checked for"), max_length=12, choices=AlertPer, default=AlertPer.UNIT)
    # Limits (empty: all): a unit's subtree, a touchpoint, a region, one reason.
    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("within unit"),
    )
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    reason = models.ForeignKey(
        ReasonCategory,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reason"),
        help_text=_("Empty: each reason separately (reason metrics and surges)."),
    )
    threshold = models.FloatField(
        _("threshold"),
        null=True,
        blank=True,
        help_text=_("Threshold rules: raised when the figure is worse than this."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("window (days)"), default=1, help_text=_("The period the figure is computed over.")
    )
    baseline_days = models.PositiveSmallIntegerField(
        _("baseline (days)"),
        default=0,
        help_text=_("Drops and surges: 0 compares with the previous window; else the days "
                    "before the window."),
    )  # fmt: skip
    min_sample = models.PositiveIntegerField(
        _("minimum answers"), default=30, help_text=_("Fewer answers in the window: no alert.")
    )
    confidence = models.FloatField(
        _("confidence"), default=0.95, help_text=_("Drops and surges: how sure, e.g. 0.95.")
    )
    open_problem = models.BooleanField(
        _("open a problem"),
        default=False,
        help_text=_("Open a problem for the responsible unit when raised."),
    )
    recipients = models.TextField(
        _("email recipients"), blank=True, help_text=_("One address per line.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering: ClassVar = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class AlertState(models.TextChoices):
    RAISED = "raised", _("Raised")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Alert(models.Model):
    """A rule's condition met in one place and window: raised once, however often and on
    however many schedulers the evaluation runs (unique on rule, key and window)."""

    rule = models.ForeignKey(
        AlertRule, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("rule")
    )
    key = models.CharField(_("condition"), max_length=200)  # e.g. "unit=12|reason=5"
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts",
        verbose_name=_("unit"),
    )  # fmt: skip
    touchpoint = models.CharField(_("touchpoint"), max_length=20, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    reason = models.ForeignKey(
        ReasonCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("reason"),
    )  # fmt: skip
    window_start = models.DateField(_("window from"))
    window_end = models.DateField(_("window to"))
    state = models.CharField(
        _("state"), max_length=12, choices=AlertState, default=AlertState.RAISED
    )
    value = models.FloatField(_("figure"))
    baseline = models.FloatField(_("compared with"), null=True, blank=True)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    sample = models.PositiveIntegerField(_("answers"), default=0)
    message = models.TextField(_("message"))
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("acknowledged by"),
    )  # fmt: skip
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    problem = models.ForeignKey(
        "followups.Problem", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="alerts", verbose_name=_("problem"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering: ClassVar = ["-raised_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["rule", "key", "window_start"], name="alert_once_per_window"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["state", "raised_at"])]

    def __str__(self) -> str:
        return self.message[:80]


# ---------------------------------------------------------------- reports


class ReportCadence(models.TextChoices):
    DAILY = "daily", _("Daily warning report")
    TEN_DAY = "ten_day", _("Ten-day report")
    MONTHLY = "monthly", _("Monthly quality report")


class Report(models.Model):
    """One generated report: a unit's (the root unit: the whole organisation) for one period."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="reports", verbose_name=_("unit")
    )
    cadence = models.CharField(_("cadence"), max_length=8, choices=ReportCadence)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (inclusive)"))
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    generated_at = models.DateTimeField(_("generated at"), auto_now=True)
    html = models.TextField(_("page"), blank=True)
    pdf = models.BinaryField(_("PDF"), blank=True, null=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering: ClassVar = ["-period_start", "cadence", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["unit", "cadence", "period_start", "language"],
                name="report_once_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} {self.period_start}"


class ReportSubscription(models.Model):
    """Someone who gets a unit's reports of one cadence by email."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions",
        verbose_name=_("person"),
    )  # fmt: skip
    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("unit"),
        help_text=_("The top unit: the whole organisation."),
    )
    cadence = models.CharField(_("cadence"), max_length=8, choices=ReportCadence)
    active = models.BooleanField(_("active"), default=True)
    last_sent_period = models.DateField(_("last sent period"), null=True, blank=True)

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "unit", "cadence"], name="reportsubscription_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_cadence_display()}"
