"""Every contact we make with a customer, and the budget that caps them (one row, in the admin).

Surveys, verification surveys, care campaigns' messages and calls and callbacks all count
against the same budget, so a customer is not disturbed by one part of the system because
another does not know what the first did (surveys/pressure.py is the one rule).
"""

from typing import ClassVar

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Customer

POLICY_PK = 1  # the one row


class ContactKind(models.TextChoices):
    SURVEY = "survey", _("Survey")
    VERIFICATION = "verification", _("Verification survey")
    CAMPAIGN_SMS = "campaign_sms", _("Care campaign SMS")
    CAMPAIGN_CALL = "campaign_call", _("Care campaign call")
    CAMPAIGN_SURVEY = "campaign_survey", _("Care campaign survey")
    CALLBACK = "callback", _("Callback")


class ContactPolicy(models.Model):
    """At most `max_contacts` contacts per customer in any `window_days` days."""

    max_contacts = models.PositiveSmallIntegerField(
        _("contacts at most"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("Surveys, campaign messages and calls and callbacks together."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("in any window of (days)"), default=7, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("contact budget")
        verbose_name_plural = _("contact budget")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=POLICY_PK), name="contactpolicy_one_row"),
        ]

    def __str__(self) -> str:
        return str(
            _("At most %(n)s contacts in %(days)s days")
            % {"n": self.max_contacts, "days": self.window_days}
        )

    @classmethod
    def current(cls) -> "ContactPolicy":
        """The row in force (created with the defaults if a database has none)."""
        policy, _created = cls.objects.get_or_create(pk=POLICY_PK)
        return policy


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind)
    at = models.DateTimeField(_("at"))
    source = models.CharField(
        _("source"), max_length=64, blank=True, help_text=_("What made it, e.g. invitation:12.")
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes: ClassVar = [models.Index(fields=["customer", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
