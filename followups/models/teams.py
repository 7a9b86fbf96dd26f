"""Who works cases: teams (what they cover, their hours, their policy), agents, routing rules."""

from datetime import time
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from followups.businesshours import check_hours
from surveys.models import Language, Tier, Touchpoint


def default_time_zone() -> str:
    return settings.NPS_DEFAULT_TIME_ZONE


def all_week() -> list[int]:
    return [0, 1, 2, 3, 4, 5, 6]


class SpokenLanguage(models.TextChoices):
    """What an agent speaks, by the codes of the languages customers read."""

    ZH_HANS = Language.ZH_HANS, _("Mandarin")
    BO = Language.BO, _("Tibetan")
    EN = Language.EN, _("English")


def mandarin_only() -> list[str]:
    return [SpokenLanguage.ZH_HANS]


class AssignmentPolicy(models.TextChoices):
    LEAST_LOADED = "least_loaded", _("Least loaded")
    ROUND_ROBIN = "round_robin", _("Round robin")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    regions = models.JSONField(
        _("regions covered"),
        default=list,
        blank=True,
        help_text=_('Region codes, e.g. ["BJ", "SH"]. Empty: no region (rules only).'),
    )
    # The fallback is an explicit choice: at most one team (a partial unique constraint).
    is_default_route = models.BooleanField(
        _("default route"),
        default=False,
        help_text=_("Takes every case that no routing rule and no team's regions match."),
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
        verbose_name=_("team lead"),
    )
    policy = models.CharField(
        _("assignment policy"),
        max_length=16,
        choices=AssignmentPolicy,
        default=AssignmentPolicy.LEAST_LOADED,
    )
    last_assigned_agent = models.ForeignKey(
        "Agent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("last assigned callback agent"),
    )
    # Business hours: SLA clocks run only inside them.
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_time_zone)
    work_days = models.JSONField(
        _("working days"), default=all_week, help_text=_("0 = Monday … 6 = Sunday")
    )
    day_start = models.TimeField(_("business hours start"), default=time(8, 0))
    day_end = models.TimeField(_("business hours end"), default=time(20, 0))

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["is_default_route"],
                condition=models.Q(is_default_route=True),
                name="team_one_default_route",
                violation_error_message=_(
                    "Another team is already the default route: untick it there first."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            check_hours(work_days=self.work_days, day_start=self.day_start, day_end=self.day_end)
        except (TypeError, ValueError):
            raise ValidationError(
                {"work_days": _("Choose at least one working day.")}, code="hours"
            ) from None


class Holiday(models.Model):
    """A calendar day, for one team or (no team) for all: a holiday without business hours,
    or a make-up working day (调休) with business hours whatever its weekday. A team's own
    entry for a date wins over the entry for all teams."""

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holidays",
        verbose_name=_("team"),
    )
    is_working_day = models.BooleanField(
        _("make-up working day"),
        default=False,
        help_text=_("Ticked: the team works this day (e.g. a Saturday). Unticked: a holiday."),
    )
    day_start = models.TimeField(
        _("opens"), null=True, blank=True, help_text=_("Make-up day only. Empty: the team's hours.")
    )
    day_end = models.TimeField(
        _("closes"),
        null=True,
        blank=True,
        help_text=_("Make-up day only; at or before the opening: the next day."),
    )

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering: ClassVar = ["date"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["date", "team"], name="holiday_once_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"

    def clean(self) -> None:
        if (self.day_start is None) != (self.day_end is None):
            raise ValidationError(
                _("Give both the opening and the closing time, or neither."), code="hours"
            )
        if self.day_start is not None and not self.is_working_day:
            raise ValidationError(
                _("Only a make-up working day has hours: a holiday is closed all day."),
                code="hours",
            )


class RoutingRule(models.Model):
    """Ordered: the first active rule whose conditions all hold picks the team."""

    order = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True, help_text=_("Empty: any."))
    tier = models.CharField(
        _("value tier"), max_length=1, choices=Tier, blank=True, help_text=_("Empty: any.")
    )
    touchpoint = models.CharField(
        _("touchpoint"), max_length=20, choices=Touchpoint, blank=True, help_text=_("Empty: any.")
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="rules", verbose_name=_("team")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering: ClassVar = ["order", "id"]

    def __str__(self) -> str:
        return self.name or f"#{self.pk} → {self.team}"


class Agent(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="agents", verbose_name=_("team")
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=20, help_text=_("Open cases at most.")
    )
    is_available = models.BooleanField(
        _("available"), default=True, help_text=_("Untick when away: open cases are reassigned.")
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_time_zone)
    work_days = models.JSONField(
        _("working days"), default=all_week, help_text=_("0 = Monday … 6 = Sunday")
    )
    shift_start = models.TimeField(_("shift start"), default=time(0, 0))
    shift_end = models.TimeField(
        _("shift end"), default=time(0, 0), help_text=_("Equal start and end: all day.")
    )
    # Language skills: assignment prefers a speaker of a Tibetan or English customer's
    # language (followups.assignment). Dialects are free labels, for people to read.
    languages = models.JSONField(
        _("languages spoken"),
        default=mandarin_only,
        blank=True,
        help_text=_('Language codes, e.g. ["zh-hans", "bo"].'),
    )
    dialects = models.CharField(
        _("dialects"),
        max_length=200,
        blank=True,
        help_text=_("Free labels separated by commas, e.g. Amdo, Kham, Sichuanese."),
    )

    class Meta:
        verbose_name = _("callback agent")
        verbose_name_plural = _("callback agents")

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    """A staff member's own settings: the zone they read times in (blank: their team's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Blank: the time zone of your team."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)
