"""The ARPU thresholds that derive a customer's value tier: one row, edited in the admin."""

from decimal import Decimal
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

THRESHOLDS_PK = 1  # the one row


class TierThresholds(models.Model):
    """A above `a_above` yuan; B from `b_from` up to `a_above` inclusive; C below `b_from`."""

    a_above = models.DecimalField(
        _("tier A: ARPU above (yuan)"),
        max_digits=9,
        decimal_places=2,
        default=Decimal(200),
        help_text=_("A customer whose monthly ARPU is above this is tier A."),
    )
    b_from = models.DecimalField(
        _("tier B: ARPU from (yuan)"),
        max_digits=9,
        decimal_places=2,
        default=Decimal(120),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("From this up to the tier A threshold (both included) is tier B; below, C."),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("tier thresholds")
        verbose_name_plural = _("tier thresholds")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=THRESHOLDS_PK), name="tierthresholds_one_row"),
            models.CheckConstraint(
                condition=Q(a_above__gt=F("b_from"), b_from__gte=0),
                name="tierthresholds_a_above_b_from",
            ),
        ]

    def __str__(self) -> str:
        return str(
            _("A above %(a)s yuan, B from %(b)s yuan, C below")
            % {"a": self.a_above, "b": self.b_from}
        )

    def clean(self) -> None:
        if self.a_above is not None and self.b_from is not None and self.a_above <= self.b_from:
            raise ValidationError(
                {"a_above": _("The tier A threshold must be above the tier B threshold.")}
            )

    @classmethod
    def current(cls) -> "TierThresholds":
        """The row in force (created with the defaults if a database has none)."""
        thresholds, _created = cls.objects.get_or_create(pk=THRESHOLDS_PK)
        return thresholds
