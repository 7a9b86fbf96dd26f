"""The consent log: every time a customer's opt-out changed, who changed it and why."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Customer
from surveys.models.messages import InboundMessage


class ConsentSource(models.TextChoices):
    SMS = "sms", _("Customer's SMS")
    STAFF = "staff", _("Staff")


class ConsentChange(models.Model):
    """One change of a customer's consent; written only by surveys.consent.consent_change."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="consent_changes",
        verbose_name=_("customer"),
    )
    opted_out = models.BooleanField(_("opted out"), help_text=_("No: opted back in."))
    at = models.DateTimeField(_("at"))
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        help_text=_("Empty: the customer, by SMS."),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    message = models.ForeignKey(
        InboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SMS"),
    )

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent log")
        ordering: ClassVar = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'out' if self.opted_out else 'in'} ({self.source})"
