"""Gateway traffic stored raw: customers' messages and delivery receipts."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Customer, Language
from surveys.models.invitations import Invitation, InvitationStatus


class InboundMessage(models.Model):
    """A customer's SMS exactly as the gateway delivered it; processed later by a task."""

    gateway = models.CharField(max_length=32, verbose_name=_("gateway"))
    gateway_message_id = models.CharField(max_length=64, verbose_name=_("gateway message id"))
    phone = models.CharField(_("from"), max_length=20, db_index=True)
    text = models.TextField(_("text"))
    payload = models.JSONField(_("raw payload"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("handed to a worker at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, blank=True)
    invitation = models.ForeignKey(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound",
        verbose_name=_("invitation"),
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

    gateway = models.CharField(max_length=32, verbose_name=_("gateway"))
    provider_message_id = models.CharField(max_length=64, verbose_name=_("provider message id"))
    status = models.CharField(max_length=12, choices=InvitationStatus, verbose_name=_("status"))
    reference = models.CharField(max_length=64, blank=True, verbose_name=_("reference"))
    error = models.CharField(max_length=200, blank=True, verbose_name=_("error"))
    payload = models.JSONField(_("raw payload"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    enqueued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("enqueued at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    outcome = models.CharField(max_length=32, blank=True, verbose_name=_("outcome"))

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


class OutboundKind(models.TextChoices):
    CLARIFICATION = "clarification", _("Clarification (reply not understood)")
    FOLLOWUP_QUESTION = "followup_question", _('Follow-up "why?" question')
    OPT_OUT_CONFIRMATION = "opt_out_confirmation", _("Opt-out confirmation")
    OPT_IN_CONFIRMATION = "opt_in_confirmation", _("Opt-in confirmation")
    HELP = "help", _("Help")
    CARE = "care", _("Care message (passive playbook)")
    THANKS = "thanks", _("Thank-you with referral (promoter playbook)")
    CALLBACK_PROMISE = "callback_promise", _("When we will call (detractor who gave a reason)")
    CAMPAIGN = "campaign", _("Care campaign offer")


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (opted out)")


class OutboundMessage(models.Model):
    """A conversation SMS other than the survey itself, sent at most once."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="outbound", verbose_name=_("customer")
    )
    invitation = models.ForeignKey(
        Invitation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound",
        verbose_name=_("invitation"),
    )
    trigger = models.ForeignKey(
        InboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answers",
        help_text=_("The customer's message this answers."),
        verbose_name=_("trigger"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=OutboundKind)
    language = models.CharField(max_length=8, choices=Language, verbose_name=_("language"))
    text = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=10, choices=OutboundStatus, default=OutboundStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    gateway = models.CharField(max_length=32, blank=True, verbose_name=_("gateway"))
    provider_message_id = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("provider message id")
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    # Recorded with the send: SMS segments billed (GSM-7 / UCS-2, surveys.smslength) and
    # their cost at the gateway's price (GatewayPrice; empty without one).
    segments = models.PositiveSmallIntegerField(_("SMS segments"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=4, null=True, blank=True)
    failure_reason = models.TextField(blank=True, verbose_name=_("failure reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("conversation message")
        verbose_name_plural = _("conversation messages")
        constraints: ClassVar = [
            # One clarification, one "why?", one playbook message, one callback promise
            # per survey: never a loop.
            models.UniqueConstraint(
                fields=["invitation", "kind"],
                condition=models.Q(
                    kind__in=[
                        "clarification",
                        "followup_question",
                        "care",
                        "thanks",
                        "callback_promise",
                    ]
                ),
                name="outbound_once_per_invitation",
            ),
            # One answer per customer message, whatever retries happen.
            models.UniqueConstraint(fields=["trigger", "kind"], name="outbound_once_per_trigger"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
