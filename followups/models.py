"""Callback cases for detractors, the teams and agents who work them."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import Customer, Response


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    regions = models.JSONField(
        _("regions covered"),
        default=list,
        blank=True,
        help_text=_('Region codes, e.g. ["BJ", "SH"]. Empty: the fallback team for all regions.'),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="agents")
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=20, help_text=_("Open cases at most.")
    )
    is_available = models.BooleanField(_("available"), default=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    P1 = "P1", _("P1 — urgent")
    P2 = "P2", _("P2 — high")
    P3 = "P3", _("P3 — normal")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New (unassigned)")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    UNREACHABLE = "unreachable", _("Unreachable")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS)
UNTOUCHED_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED)  # nobody has contacted the customer


class Case(models.Model):
    response = models.OneToOneField(Response, on_delete=models.PROTECT, related_name="case")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    priority = models.CharField(_("priority"), max_length=2, choices=Priority)
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus, default=CaseStatus.NEW
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    sla_due_at = models.DateTimeField(_("first contact due"))
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=200, blank=True)
    closed_by_correction = models.BooleanField(
        _("closed because the score was corrected"), default=False
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes: ClassVar = [
            models.Index(fields=["status", "sla_due_at"]),
            models.Index(fields=["agent", "status"]),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} ({self.priority})"
