"""The organisation's units, and the CRM ids that say which unit served an interaction.

A tree: province, city branches, districts, then the stores and channels that serve
customers; departments (quality, network, billing, ...) sit beside the branches under the
province. An interaction names the store or channel that served it by the CRM's id
(Interaction.unit_code); a UnitCode maps that id to a unit, so the interaction, its
response's figures and its case carry the unit (surveys.units).
"""

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City branch")
    DISTRICT = "district", _("District")
    STORE = "store", _("Store")
    CHANNEL = "channel", _("Channel")
    DEPARTMENT = "department", _("Department")


class Unit(models.Model):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("part of"),
    )
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="owned_units",
        verbose_name=_("owners"),
        help_text=_("The people answerable for this unit: told of its overdue problems."),
    )
    is_quality_department = models.BooleanField(
        _("quality department"),
        default=False,
        help_text=_("Told of every overdue problem, whichever unit owns it."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering: ClassVar = ["name", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["parent", "name"], name="unit_name_per_parent")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        seen = {self.pk} if self.pk else set()
        parent = self.parent
        while parent is not None:
            if parent.pk in seen:
                raise ValidationError({"parent": _("A unit cannot be part of itself.")})
            seen.add(parent.pk)
            parent = parent.parent


class UnitCode(models.Model):
    """A CRM store or channel id, and the unit it means."""

    code = models.CharField(_("CRM id"), max_length=64, unique=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="codes", verbose_name=_("unit")
    )

    class Meta:
        verbose_name = _("CRM unit id")
        verbose_name_plural = _("CRM unit ids")
        ordering: ClassVar = ["code"]

    def __str__(self) -> str:
        return self.code
