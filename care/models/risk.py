"""The model that finds potentially dissatisfied customers: its versions and its scores."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import Customer


class RiskModel(models.Model):
    """One trained version, with how it did on a later period than it was trained on."""

    created_at = models.DateTimeField(_("trained at"), auto_now_add=True)
    algorithm = models.CharField(_("algorithm"), max_length=64)
    trained_from = models.DateTimeField(_("trained on answers from"))
    trained_to = models.DateTimeField(_("trained on answers up to"))
    validated_to = models.DateTimeField(_("validated on answers up to"))
    train_size = models.PositiveIntegerField(_("customers trained on"))
    validation_size = models.PositiveIntegerField(_("customers validated on"))
    validation_positives = models.PositiveIntegerField(_("detractors in validation"))
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    precision_top1 = models.FloatField(_("precision, top 1%"), null=True, blank=True)
    precision_top5 = models.FloatField(_("precision, top 5%"), null=True, blank=True)
    rule_auc = models.FloatField(_("rule score AUC"), null=True, blank=True)
    rule_precision_top1 = models.FloatField(
        _("rule score precision, top 1%"), null=True, blank=True
    )
    rule_precision_top5 = models.FloatField(
        _("rule score precision, top 5%"), null=True, blank=True
    )
    has_signal = models.BooleanField(
        _("finds a signal"),
        default=False,
        help_text=_(
            "Whether it beat chance on the validation period; a model without one scores no one."
        ),
    )
    parameters = models.JSONField(_("parameters"), default=dict)
    is_active = models.BooleanField(_("in use"), default=False)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("risk model version")
        verbose_name_plural = _("risk model versions")
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.algorithm} {self.created_at:%Y-%m-%d}"


class RiskScore(models.Model):
    """A customer's latest score and the version that made it."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="risk", verbose_name=_("customer")
    )
    risk_model = models.ForeignKey(
        RiskModel, on_delete=models.CASCADE, related_name="scores", verbose_name=_("model")
    )
    score = models.FloatField(_("risk score"), db_index=True)
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        verbose_name = _("risk score")
        verbose_name_plural = _("risk scores")

    def __str__(self) -> str:
        return f"{self.score:.3f}"
