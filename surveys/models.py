"""Customers, interactions, survey definitions, invitations, inbound traffic, responses."""

from datetime import time
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Chinese (simplified)")
    EN = "en", _("English")
    BO = "bo", _("Tibetan")


class Tier(models.TextChoices):
    A = "A", _("A (high value)")
    B = "B", _("B")
    C = "C", _("C")


class Touchpoint(models.TextChoices):
    STORE_OWN = "store_own", _("Store (own)")
    STORE_PARTNER = "store_partner", _("Store (partner)")
    STORE_AGENT = "store_agent", _("Store (agent)")
    HOTLINE = "hotline", _("Hotline")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    ONLINE = "online", _("Online")
    SELF_SERVICE = "self_service", _("Self-service terminal")


def default_time_zone() -> str:
    return settings.NPS_DEFAULT_TIME_ZONE


class Customer(models.Model):
    phone = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=8, choices=Language, default=Language.ZH_HANS
    )
    tier = models.CharField(_("value tier"), max_length=1, choices=Tier, default=Tier.C)
    region = models.CharField(_("region"), max_length=64, blank=True, db_index=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_time_zone)
    is_mobile = models.BooleanField(
        _("valid mobile number"), default=True, help_text=_("Set from the number when stored.")
    )
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name or self.phone

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class Interaction(models.Model):
    external_id = models.CharField(_("CRM id"), max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interactions")
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint)
    channel = models.CharField(
        _("channel"), max_length=32, blank=True, help_text=_("e.g. app, web, wechat, ivr")
    )
    business_type = models.CharField(_("business type"), max_length=64, blank=True)
    staff_id = models.CharField(_("staff id"), max_length=64, blank=True)
    staff_name = models.CharField(_("staff name"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes: ClassVar = [models.Index(fields=["touchpoint", "occurred_at"])]

    def __str__(self) -> str:
        return self.external_id


class Survey(models.Model):
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    touchpoints = models.JSONField(
        _("touchpoints"),
        default=list,
        blank=True,
        help_text=_("Touchpoint codes this survey covers; empty covers all."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower wins when several surveys match.")
    )
    default_language = models.CharField(max_length=8, choices=Language, default=Language.ZH_HANS)
    delay_minutes = models.PositiveIntegerField(
        _("delay after the interaction (minutes)"), default=0
    )
    reply_window_hours = models.PositiveIntegerField(_("reply window (hours)"), default=48)
    fatigue_days = models.PositiveIntegerField(
        _("fatigue window (days)"),
        default=30,
        help_text=_("Do not survey a customer surveyed within this many days."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_end = models.TimeField(
        _("quiet hours end"),
        default=time(9, 0),
        help_text=_("Local time of the customer. Equal start and end: no quiet hours."),
    )
    sampling_rate = models.FloatField(
        _("sampling rate"),
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of eligible interactions surveyed, 0 to 1."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering: ClassVar = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    def covers(self, touchpoint: str) -> bool:
        return not self.touchpoints or touchpoint in self.touchpoints


class SurveyText(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=8, choices=Language)
    question = models.TextField(
        _("question"), help_text=_("The SMS text. Must ask for a number from 0 to 10.")
    )

    class Meta:
        verbose_name = _("survey text")
        verbose_name_plural = _("survey texts")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["survey", "language"], name="surveytext_one_per_lang")
        ]

    def __str__(self) -> str:
        return f"{self.survey} [{self.language}]"


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    RESPONDED = "responded", _("Responded")
    EXPIRED = "expired", _("Expired")
    SUPPRESSED = "suppressed", _("Suppressed")


class SuppressReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("Customer opted out")
    FATIGUE = "fatigue", _("Surveyed within the fatigue window")
    INVALID_NUMBER = "invalid_number", _("Not a valid mobile number")
    SAMPLED_OUT = "sampled_out", _("Sampled out")
    NO_SURVEY = "no_survey", _("No active survey covers this touchpoint")


class Invitation(models.Model):
    interaction = models.ForeignKey(
        Interaction, on_delete=models.PROTECT, related_name="invitations"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invitations")
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, null=True, blank=True, related_name="invitations"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=InvitationStatus, default=InvitationStatus.SCHEDULED
    )
    suppressed_reason = models.CharField(
        _("suppressed because"), max_length=20, choices=SuppressReason, blank=True
    )
    language = models.CharField(max_length=8, choices=Language, blank=True)
    text = models.TextField(_("text sent"), blank=True)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    gateway = models.CharField(max_length=32, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    expires_at = models.DateTimeField(_("reply window ends"), null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints: ClassVar = [
            # One survey per interaction, ever: the API may be called twice.
            models.UniqueConstraint(fields=["interaction"], name="invitation_one_per_interaction")
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class InboundMessage(models.Model):
    """A customer's SMS exactly as the gateway delivered it; processed later by a task."""

    gateway = models.CharField(max_length=32)
    gateway_message_id = models.CharField(max_length=64)
    phone = models.CharField(_("from"), max_length=20, db_index=True)
    text = models.TextField(_("text"))
    payload = models.JSONField(_("raw payload"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, blank=True)
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_message_id"], name="inbound_unique_gateway_id"
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["received_at"],
                name="inbound_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.gateway_message_id}"


class DeliveryReceipt(models.Model):
    """A gateway's status report for one sent SMS, stored raw, applied by a task."""

    gateway = models.CharField(max_length=32)
    provider_message_id = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=InvitationStatus)
    reference = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(_("raw payload"))
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("delivery receipt")
        verbose_name_plural = _("delivery receipts")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["gateway", "provider_message_id", "status"], name="receipt_unique"
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["received_at"],
                name="receipt_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_message_id} {self.status}"


class Category(models.TextChoices):
    PROMOTER = "promoter", _("Promoter")
    PASSIVE = "passive", _("Passive")
    DETRACTOR = "detractor", _("Detractor")

    @classmethod
    def for_score(cls, score: int) -> "Category":
        if score >= 9:
            return cls.PROMOTER
        if score >= 7:
            return cls.PASSIVE
        return cls.DETRACTOR


class Response(models.Model):
    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="responses")
    interaction = models.ForeignKey(Interaction, on_delete=models.PROTECT, related_name="responses")
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    category = models.CharField(_("category"), max_length=10, choices=Category)
    comment = models.TextField(_("comment"), blank=True)
    message = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("answered at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=10), name="response_score_0_10"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["category", "created_at"])]

    def __str__(self) -> str:
        return f"{self.score} ({self.get_category_display()})"
