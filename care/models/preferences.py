"""The customer preference taxonomy (classes and features) and each customer's values."""

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from surveys.models import Customer


class Named(models.Model):
    code = models.SlugField(_("code"), max_length=48, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language: Chinese for zh-hans, else English."""
        chinese = (get_language() or "").startswith("zh") and self.name_zh
        return self.name_zh if chinese else self.name_en


class PreferenceClass(Named):
    class Meta:
        verbose_name = _("preference class")
        verbose_name_plural = _("preference classes")
        ordering: ClassVar = ["order", "code"]


class PreferenceFeature(Named):
    preference_class = models.ForeignKey(
        PreferenceClass,
        on_delete=models.PROTECT,
        related_name="features",
        verbose_name=_("class"),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("The CRM may send values for active features only.")
    )

    class Meta:
        verbose_name = _("preference feature")
        verbose_name_plural = _("preference features")
        ordering: ClassVar = ["preference_class__order", "order", "code"]


class PreferenceSource(models.TextChoices):
    CRM = "crm", _("CRM")
    LEARNED = "learned", _("Learned from campaigns")


class CustomerPreference(models.Model):
    """How much a customer likes a feature, from 0 (not at all) to 1 (most)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="preferences", verbose_name=_("customer")
    )
    feature = models.ForeignKey(
        PreferenceFeature,
        on_delete=models.CASCADE,
        related_name="customer_values",
        verbose_name=_("feature"),
    )
    value = models.FloatField(
        _("value (0-1)"), validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    source = models.CharField(_("source"), max_length=8, choices=PreferenceSource)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("customer preference")
        verbose_name_plural = _("customer preferences")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["customer", "feature"], name="customerpreference_once_per_feature"
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0, value__lte=1), name="customerpreference_value_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature}: {self.value:g}"
