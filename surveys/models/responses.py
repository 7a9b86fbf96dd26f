"""Answers: a score, its category, the comment."""

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from surveys.models.customers import Customer, Interaction
from surveys.models.invitations import Invitation
from surveys.models.messages import InboundMessage


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


class Voice(models.TextChoices):
    """The voice of the customer: 赞扬之声 / 问题之声 / 建议之声."""

    PRAISE = "praise", pgettext_lazy("voice of the customer", "Praise")
    PROBLEM = "problem", pgettext_lazy("voice of the customer", "Problem")
    SUGGESTION = "suggestion", pgettext_lazy("voice of the customer", "Suggestion")


class Response(models.Model):
    invitation = models.OneToOneField(
        Invitation, on_delete=models.PROTECT, related_name="response", verbose_name=_("invitation")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="responses", verbose_name=_("customer")
    )
    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.PROTECT,
        related_name="responses",
        verbose_name=_("interaction"),
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    category = models.CharField(_("category"), max_length=10, choices=Category)
    comment = models.TextField(_("comment"), blank=True)
    voice = models.CharField(
        _("voice of the customer"),
        max_length=10,
        choices=Voice,
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the field
        help_text=_("What the comment is: praise, a problem or a suggestion."),
    )
    message = models.ForeignKey(
        InboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(_("answered at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=10), name="response_score_0_10"
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["category", "created_at"]),
            models.Index(fields=["created_at"]),  # the dashboard rollups read a day at a time
        ]

    def __str__(self) -> str:
        return f"{self.score} ({self.get_category_display()})"
