"""Service standards: first-contact and resolution targets per value tier and priority."""

from decimal import Decimal
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from followups.models.cases import Priority
from surveys.models import Tier

# Tiers and priorities from the most to the least demanding: targets never loosen along them.
TIER_ORDER = (Tier.A, Tier.B, Tier.C)
PRIORITY_ORDER = (Priority.P1, Priority.P2, Priority.P3)
CLOCKS = ("first_contact_hours", "resolution_hours")


class ServiceStandard(models.Model):
    """Business hours allowed to reach and to resolve a case of one tier at one priority.

    For the same priority a higher tier is never given more time (A <= B <= C), and within a
    tier a more urgent priority never more time (P1 <= P2 <= P3): with case_priority this
    makes a tier-A detractor due no later than a tier-C one with the same score.
    """

    tier = models.CharField(_("value tier"), max_length=1, choices=Tier)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority)
    first_contact_hours = models.DecimalField(
        _("first contact within (business hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    resolution_hours = models.DecimalField(
        _("resolved within (business hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )

    class Meta:
        verbose_name = _("service standard")
        verbose_name_plural = _("service standards")
        ordering: ClassVar = ["priority", "tier"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["tier", "priority"], name="service_standard_once"),
            models.CheckConstraint(
                condition=models.Q(resolution_hours__gte=models.F("first_contact_hours")),
                name="service_standard_resolution_after_contact",
                violation_error_message=_(
                    "Resolution cannot be due before first contact: give it at least as long."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.priority}"

    def clean(self) -> None:
        """Refuse targets that would give a higher tier, or a more urgent priority, more time
        than a lower or less urgent one (compared with the other saved standards)."""
        if self.tier not in TIER_ORDER or self.priority not in PRIORITY_ORDER:
            return
        for neighbour in ServiceStandard.objects.exclude(pk=self.pk).filter(
            models.Q(priority=self.priority) | models.Q(tier=self.tier)
        ):
            same_priority = neighbour.priority == self.priority
            order = TIER_ORDER if same_priority else PRIORITY_ORDER
            if same_priority:
                mine, theirs = self.tier, neighbour.tier
            else:
                mine, theirs = self.priority, neighbour.priority
            stricter = order.index(mine) < order.index(theirs)
            for clock in CLOCKS:
                value, other = getattr(self, clock), getattr(neighbour, clock)
                if value is None:
                    continue
                if (stricter and value > other) or (not stricter and value < other):
                    raise ValidationError(
                        {
                            clock: _(
                                "%(this)s cannot allow more time than %(other)s (%(hours)s h): "
                                "higher tiers and more urgent priorities never wait longer."
                            )
                            % {
                                "this": self if stricter else neighbour,
                                "other": neighbour if stricter else self,
                                "hours": (other if stricter else value).normalize(),
                            }
                        },
                        code="order",
                    )
