"""Callback cases, the attempts to reach the customer, and the history of every change."""

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from followups.models.teams import Agent, Team
from surveys.models import Customer, Invitation, Language, ReasonCategory, Response


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


class HoldReason(models.TextChoices):
    CALL_BACK_LATER = "call_back_later", _("The customer asked to be called back later")
    FIELD_VISIT = "field_visit", _("Waiting for a field visit")
    CUSTOMER_INFO = "customer_info", _("Waiting for information from the customer")
    OTHER = "other", _("Other (see the note)")


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS)
UNTOUCHED_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED)  # nobody has contacted the customer


class Case(models.Model):
    response = models.OneToOneField(
        Response, on_delete=models.PROTECT, related_name="case", verbose_name=_("response")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="cases", verbose_name=_("customer")
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority)
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus, default=CaseStatus.NEW
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("team"),
    )
    agent = models.ForeignKey(
        Agent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("callback agent"),
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    # SLA: due times live in the database, counted in the team's business hours.
    sla_due_at = models.DateTimeField(_("first contact due"))
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # First contact: the customer was reached. The first attempt may have failed.
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    first_contact_at = models.DateTimeField(
        _("first contact at"), null=True, blank=True, help_text=_("When the customer was reached.")
    )
    # Set by case_assign when no speaker of the customer's language could take the case.
    needs_language = models.CharField(
        _("needs a speaker of"),
        max_length=8,
        choices=Language,
        blank=True,
        help_text=_("No agent who speaks the customer's language could take the case."),
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"), default=0, help_text=_("1: team lead told; 2: supervisor told.")
    )
    escalated_at = models.DateTimeField(_("last escalated at"), null=True, blank=True)
    # Resolution
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # What the agent found; proposed from the reasons of the customer's reply, several allowed.
    root_causes = models.ManyToManyField(
        ReasonCategory, blank=True, related_name="cases", verbose_name=_("root causes")
    )
    action_taken = models.CharField(_("action taken"), max_length=200, blank=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=200, blank=True)
    closed_by_correction = models.BooleanField(
        _("closed because the score was corrected"), default=False
    )
    # On hold (followups.handover): the SLA clocks stop while waiting for the customer.
    held_since = models.DateTimeField(_("on hold since"), null=True, blank=True)
    hold_reason = models.CharField(_("hold reason"), max_length=20, choices=HoldReason, blank=True)
    hold_note = models.CharField(_("hold note"), max_length=200, blank=True)
    hold_count = models.PositiveSmallIntegerField(_("times on hold"), default=0)
    hold_total = models.DurationField(
        _("time on hold"), default=timedelta, help_text=_("Ended holds, real time.")
    )
    # A callback the customer booked: first contact is due then; the agent is reminded.
    appointment_at = models.DateTimeField(_("callback appointment"), null=True, blank=True)
    appointment_zone = models.CharField(_("appointment time zone"), max_length=64, blank=True)
    appointment_reminded_at = models.DateTimeField(
        _("appointment reminder sent at"), null=True, blank=True
    )
    # Set by a transfer to a team: routing no longer moves the case elsewhere.
    team_fixed = models.BooleanField(_("team chosen by a transfer"), default=False)
    # Proving recovery: a verification survey some days after resolution.
    verification_due_at = models.DateTimeField(_("verification due"), null=True, blank=True)
    verification_invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verified_case",
        verbose_name=_("verification invitation"),
    )
    verification_score = models.PositiveSmallIntegerField(
        _("verification score"), null=True, blank=True
    )
    recovered = models.BooleanField(_("recovered"), null=True, blank=True)
    unit = models.ForeignKey(
        "surveys.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("responsible unit"),
        help_text=_("The unit that served the customer, unless someone moved the case."),
    )
    # db_default: rows written by code that predates the fields
    typical = models.BooleanField(
        _("typical case"),
        default=False,
        db_default=False,
        help_text=_("Shared as an example in the reports."),
    )
    typical_note = models.TextField(
        _("why it is typical"), blank=True, default="", db_default=""
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        # Team leads and supervisors only (followups.permissions): it moves the SLA clocks.
        permissions: ClassVar = [("change_priority", "Can change a case's priority")]
        indexes: ClassVar = [
            models.Index(fields=["status", "sla_due_at"]),
            models.Index(fields=["agent", "status"]),
            models.Index(fields=["verification_due_at"]),
            models.Index(fields=["opened_at"]),  # the dashboard rollups read a day at a time
            models.Index(fields=["appointment_at"]),  # the reminders look a few minutes ahead
        ]

    def __str__(self) -> str:
        return _("Case #%(id)s (%(priority)s)") % {"id": self.pk, "priority": self.priority}


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    REFUSED = "refused", _("Refused to talk")


class ContactAttempt(models.Model):
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("case")
    )
    agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attempts",
        verbose_name=_("callback agent"),
    )
    at = models.DateTimeField(_("at"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=ContactChannel, default=ContactChannel.PHONE
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=ContactOutcome)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering: ClassVar = ["at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.at:%Y-%m-%d %H:%M}"


class CaseEvent(models.Model):
    """One line of a case's history: who did what, when."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the system."),
        verbose_name=_("actor"),
    )
    kind = models.CharField(_("what"), max_length=32)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case history")
        ordering: ClassVar = ["at", "id"]
        # The dashboard rollups look up the cases that changed in the last minutes.
        indexes: ClassVar = [models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"
