"""Survey definitions and their texts per language."""

from datetime import time
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Language


def default_followup_categories() -> list[str]:
    return ["detractor"]


class Scale(models.TextChoices):
    NPS = "nps", _("Likelihood to recommend, 0-10 (NPS)")
    SATISFACTION = "satisfaction", _("Satisfaction, 1-10 (reported as a 100-point score)")


class Delivery(models.TextChoices):
    SMS_REPLY = "sms", _("SMS: the customer replies with a number")
    LINK = "link", _("Link: the SMS carries a link to a survey page")


# The lowest answer each scale takes: 0 is not an answer on the 1-10 satisfaction scale.
SCALE_LOWEST = {Scale.NPS: 0, Scale.SATISFACTION: 1}


class Survey(models.Model):
    name = models.CharField(_("name"), max_length=100)
    scale = models.CharField(
        _("scale"),
        max_length=12,
        choices=Scale,
        default=Scale.NPS,
        db_default=Scale.NPS,  # rows written by code that predates the field
        help_text=_(
            "What the number asks: NPS (0-10), or the operators' satisfaction score "
            "(1-10, shown as points out of 100)."
        ),
    )
    delivery = models.CharField(
        _("delivery"),
        max_length=8,
        choices=Delivery,
        default=Delivery.SMS_REPLY,
        db_default=Delivery.SMS_REPLY,
        help_text=_(
            "How the question reaches the customer: an SMS answered by reply, or an SMS with "
            "a single-use link to a mobile survey page."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    touchpoints = models.JSONField(
        _("touchpoints"),
        default=list,
        blank=True,
        help_text=_("Touchpoint codes this survey covers; empty covers all."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower wins when several surveys match.")
    )
    default_language = models.CharField(
        max_length=8, choices=Language, default=Language.ZH_HANS, verbose_name=_("default language")
    )
    delay_minutes = models.PositiveIntegerField(
        _("delay after the interaction (minutes)"), default=0
    )
    reply_window_hours = models.PositiveIntegerField(_("reply window (hours)"), default=48)
    max_age_hours = models.PositiveIntegerField(
        _("maximum age (hours)"),
        default=72,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Interactions older than this when they arrive (a CRM backfill) are recorded "
            "but not surveyed."
        ),
    )
    fatigue_days = models.PositiveIntegerField(
        _("fatigue window (days)"),
        default=30,
        help_text=_("Do not survey a customer surveyed within this many days."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_end = models.TimeField(
        _("quiet hours end"),
        default=time(9, 0),
        help_text=_("Local time of the customer. Equal start and end: no quiet hours."),
    )
    sampling_rate = models.FloatField(
        _("sampling rate"),
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of eligible interactions surveyed, 0 to 1."),
    )
    followup_categories = models.JSONField(
        _("ask why after"),
        default=default_followup_categories,
        blank=True,
        help_text=_('Categories asked a follow-up "why?" question: detractor, passive, promoter.'),
    )
    passive_care = models.BooleanField(_("send passives a care message"), default=True)
    promoter_thanks = models.BooleanField(
        _("send promoters a thank-you with a referral invitation"), default=True
    )
    callback_promise = models.BooleanField(
        _("tell detractors when we will call"),
        default=True,
        help_text=_(
            "A detractor who gives a reason is told within how many hours we will call "
            "(from the case's first-contact due time)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering: ClassVar = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def lowest_score(self) -> int:
        return SCALE_LOWEST[Scale(self.scale)]

    def covers(self, touchpoint: str) -> bool:
        return not self.touchpoints or touchpoint in self.touchpoints


class SurveyText(models.Model):
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="texts", verbose_name=_("survey")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language)
    question = models.TextField(
        _("question"),
        help_text=_(
            "The SMS text. Must ask for a number from 0 to 10. The opt-out instruction "
            "(e.g. 回复TD退订 / Reply STOP to opt out) is added when missing."
        ),
    )
    followup_question = models.TextField(
        _("follow-up question"),
        blank=True,
        help_text=_("Asked after a score in the follow-up categories. Empty: the default."),
    )
    clarification = models.TextField(
        _("clarification"),
        blank=True,
        help_text=_("Sent once when a reply is not understood. Empty: the default."),
    )
    care_message = models.TextField(
        _("care message"), blank=True, help_text=_("Passive playbook. Empty: the default.")
    )
    thanks_message = models.TextField(
        _("thank-you message"),
        blank=True,
        help_text=_("Promoter playbook, with the referral invitation. Empty: the default."),
    )
    callback_promise = models.TextField(
        _("callback promise"),
        blank=True,
        help_text=_(
            "Sent to a detractor who gave a reason; {hours} becomes the hours until the "
            "call is due. Empty: the default."
        ),
    )
    link_message = models.TextField(
        _("link SMS"),
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the field
        help_text=_(
            "The SMS of a survey delivered by link; {link} becomes the customer's link. "
            "Empty: the default."
        ),
    )

    class Meta:
        verbose_name = _("survey text")
        verbose_name_plural = _("survey texts")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["survey", "language"], name="surveytext_one_per_lang")
        ]

    def __str__(self) -> str:
        return f"{self.survey} [{self.language}]"
