"""What the gateways need beyond their settings: approved templates, and the price of an SMS.

Providers in China send only approved templates (surveys/gatewaytemplates.py picks one for
each composed SMS); every SMS sent records its segments and its cost at the gateway's price.
"""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Language
from surveys.models.messages import OutboundKind

# The kinds of a survey's own SMS (a conversation message's kind is its OutboundKind).
SURVEY_TEMPLATE = "survey"
SURVEY_LINK_TEMPLATE = "survey_link"
# What a template is for: a survey's own SMS, or a conversation message of a kind.
TEMPLATE_KINDS = [
    (SURVEY_TEMPLATE, _("Survey question")),
    (SURVEY_LINK_TEMPLATE, _("Survey link SMS")),
    *OutboundKind.choices,
]


class GatewayTemplate(models.Model):
    """A provider's approved template for one kind of SMS in one language."""

    gateway = models.CharField(
        _("gateway"), max_length=32, help_text=_("The gateway's name in NPS_GATEWAYS.")
    )
    kind = models.CharField(_("for"), max_length=24, choices=TEMPLATE_KINDS)
    language = models.CharField(_("language"), max_length=8, choices=Language)
    code = models.CharField(
        _("template code"),
        max_length=64,
        help_text=_("As the provider's console shows it (Alibaba: SMS_…; Tencent: the id)."),
    )
    parameters = models.JSONField(
        _("parameters"),
        default=list,
        blank=True,
        help_text=_("The template's parameter names in its order, each one of our values."),
    )
    text = models.TextField(_("approved wording"), blank=True)
    approved = models.BooleanField(_("approved"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("gateway template")
        verbose_name_plural = _("gateway templates")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["gateway", "kind", "language"], name="gateway_template_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.kind} {self.language}: {self.code}"


class GatewayPrice(models.Model):
    """What one SMS segment costs through a gateway."""

    gateway = models.CharField(_("gateway"), max_length=32, unique=True)
    price_per_segment = models.DecimalField(_("price per segment"), max_digits=10, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("gateway price")
        verbose_name_plural = _("gateway prices")

    def __str__(self) -> str:
        return f"{self.gateway}: {self.price_per_segment} {self.currency}"
