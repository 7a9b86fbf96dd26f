"""Problems: cases of one reason in one place, owned by the unit responsible for fixing them.

"One case found, one class solved, one area prevented": a problem is opened by an alert
(followups.problems, called from nps.alerts) or by a person from a case; the responsible
unit plans and carries out a rectification; the detractor share for that reason in that
place after the fix, against before, verifies it; a person confirms the closure. A problem
closed late or unverified leaves an AccountabilityEntry.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from followups.models.cases import Case
from surveys.models import ReasonCategory, Touchpoint, Unit


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RECTIFYING = "rectifying", _("Rectifying")
    VERIFYING = "verifying", _("Verifying")
    CLOSED = "closed", _("Closed")


class ProblemSource(models.TextChoices):
    ALERT = "alert", _("Raised by an alert")
    PERSON = "person", _("Opened by a person")


class Problem(models.Model):
    title = models.CharField(_("title"), max_length=200)
    reason = models.ForeignKey(
        ReasonCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="problems",
        verbose_name=_("reason"),
    )
    # The place: a unit (and everything under it), a touchpoint, a region; empty: any.
    place_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="problems_found",
        verbose_name=_("where: unit"),
    )
    touchpoint = models.CharField(
        _("where: touchpoint"), max_length=20, choices=Touchpoint, blank=True
    )
    region = models.CharField(_("where: region"), max_length=64, blank=True)
    responsible_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="problems_owned",
        verbose_name=_("responsible unit"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="problems_owned",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ProblemStatus, default=ProblemStatus.OPEN
    )
    source = models.CharField(_("source"), max_length=8, choices=ProblemSource)
    cases = models.ManyToManyField(
        Case, blank=True, related_name="problems", verbose_name=_("cases")
    )
    plan = models.TextField(_("rectification plan"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    fixed_at = models.DateTimeField(
        _("rectified at"), null=True, blank=True, help_text=_("Verification measures from here.")
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # Verification: the reason's detractor share in the place before and after the fix.
    before_detractors = models.PositiveIntegerField(_("detractors before"), null=True, blank=True)
    before_answers = models.PositiveIntegerField(_("answers before"), null=True, blank=True)
    after_detractors = models.PositiveIntegerField(_("detractors after"), null=True, blank=True)
    after_answers = models.PositiveIntegerField(_("answers after"), null=True, blank=True)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    verified_at = models.DateTimeField(_("last verified at"), null=True, blank=True)
    close_proposed_at = models.DateTimeField(
        _("closure proposed at"),
        null=True,
        blank=True,
        help_text=_("The share fell significantly: a person confirms the closure."),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_verified = models.BooleanField(_("closed verified"), null=True, blank=True)

    class Meta:
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        ordering: ClassVar = ["-opened_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return self.title


class ProblemAction(models.Model):
    """One step of the rectification: what is to be done, by whom, and when it was done."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, related_name="actions", verbose_name=_("problem")
    )
    text = models.CharField(_("action"), max_length=300)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rectification action")
        verbose_name_plural = _("rectification actions")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return self.text


class ProblemEvent(models.Model):
    """The problem's history: every change, by whom and when (append-only)."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, related_name="events", verbose_name=_("problem")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    kind = models.CharField(_("what"), max_length=32)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("problem event")
        verbose_name_plural = _("problem history")
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class AccountabilityEntry(models.Model):
    """A finding against a unit (and a person) for a problem closed late or unverified, or
    entered by the quality department: what was found and the measure taken."""

    problem = models.ForeignKey(
        Problem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accountability",
        verbose_name=_("problem"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="accountability", verbose_name=_("unit")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accountability",
        verbose_name=_("person"),
    )
    finding = models.TextField(_("finding"))
    measure = models.TextField(_("measure"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("accountability entry")
        verbose_name_plural = _("accountability entries")
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            # the automatic entry for a problem is written once, however often closing runs
            models.UniqueConstraint(
                fields=["problem"],
                condition=models.Q(created_by__isnull=True),
                name="accountability_auto_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit}: {self.finding[:40]}"
