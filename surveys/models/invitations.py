"""One invitation per survey sent, with a status that only moves forward."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Customer, Interaction, Language
from surveys.models.surveys import Survey


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
    OPEN_CASE = "open_case", _("Customer has an open callback case")
    DAILY_CAP = "daily_cap", _("Customer already surveyed today")
    TIER_CAP = "tier_cap", _("Survey cap for the value tier reached")
    TOO_OLD = "too_old", _("Interaction older than the survey's maximum age")
    CONTACT_BUDGET = "contact_budget", _("Contact budget for the customer used up")


class Purpose(models.TextChoices):
    SURVEY = "survey", _("Survey after an interaction")
    VERIFICATION = "verification", _("Verification after a resolved case")
    CAMPAIGN = "campaign", _("Care campaign survey (before or after)")


class Invitation(models.Model):
    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.PROTECT,
        related_name="invitations",
        verbose_name=_("interaction"),
    )
    # No index of its own: (customer, status) below serves every lookup by customer.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="invitations",
        verbose_name=_("customer"),
        db_index=False,
    )
    survey = models.ForeignKey(
        Survey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("survey"),
    )
    # Not indexed: three values, nearly every row a survey; every query by purpose
    # reaches invitations through another condition first.
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose, default=Purpose.SURVEY)
    status = models.CharField(
        _("status"), max_length=12, choices=InvitationStatus, default=InvitationStatus.SCHEDULED
    )
    suppressed_reason = models.CharField(
        _("suppressed because"), max_length=20, choices=SuppressReason, blank=True
    )
    language = models.CharField(
        max_length=8, choices=Language, blank=True, verbose_name=_("language")
    )
    text = models.TextField(_("text sent"), blank=True)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("enqueued at"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    gateway = models.CharField(max_length=32, blank=True, verbose_name=_("gateway"))
    # Indexed in Meta: a receipt finds its send by equality, never by LIKE.
    provider_message_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("provider message id")
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    # Recorded with the send: SMS segments billed (GSM-7 / UCS-2, surveys.smslength) and
    # their cost at the gateway's price (GatewayPrice; empty without one).
    segments = models.PositiveSmallIntegerField(_("SMS segments"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=4, null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))
    failure_reason = models.TextField(_("failure reason"), blank=True)
    expires_at = models.DateTimeField(_("reply window ends"), null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("responded at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints: ClassVar = [
            # One survey per interaction, ever: the API may be called twice.
            models.UniqueConstraint(
                fields=["interaction"],
                condition=models.Q(purpose="survey"),
                name="invitation_one_per_interaction",
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "send_at"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["provider_message_id"], name="invitation_provider_msg_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def asked_survey(self) -> Survey:
        """The survey it asks: only an invitation suppressed because no survey covered the
        touchpoint has none, and that one is never sent nor answered."""
        if self.survey is None:
            raise ValueError(f"invitation {self.pk} asks no survey")
        return self.survey
