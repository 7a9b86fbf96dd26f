"""Segments of the pool, care campaigns on them, who was treated or held out, and what worked."""

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from care.models.preferences import PreferenceFeature
from followups.models import Agent, Team
from surveys.models import Customer, Invitation, Survey


class Segment(models.Model):
    """A saved, named filter over the pool and the customer profile (care/segments.py reads it)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    filters = models.JSONField(
        _("filters"),
        default=dict,
        blank=True,
        help_text=_(
            "kind, min_risk, tiers, regions, reasons, touchpoints, preferences "
            "({feature code: minimum value})."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RUNNING = "running", _("Running")
    MEASURING = "measuring", _("Post-survey out")
    FINISHED = "finished", _("Finished")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=100)
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("segment")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus, default=CampaignStatus.DRAFT
    )
    control_share = models.FloatField(
        _("control group share"),
        default=0.10,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text=_("Held out at random within each tier and region, and surveyed all the same."),
    )
    seed = models.PositiveIntegerField(
        _("random seed"), default=0, help_text=_("The same seed draws the same control group.")
    )
    # Actions: any of the three.
    sms_offer = models.BooleanField(_("SMS offer"), default=False)
    sms_texts = models.JSONField(
        _("SMS texts"), default=dict, blank=True, help_text=_("{language: text}.")
    )
    join_keyword = models.CharField(
        _("reply keyword to join"),
        max_length=20,
        blank=True,
        help_text=_("For example 参加 or JOIN."),
    )
    care_calls = models.BooleanField(_("care calls"), default=False)
    call_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_campaigns",
        verbose_name=_("calling team"),
    )
    offer_code = models.BooleanField(_("offer code"), default=False)
    channel_feature = models.ForeignKey(
        PreferenceFeature,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel preference learned"),
        help_text=_("Raised for a customer who joins (for example the SMS channel)."),
    )
    post_survey = models.ForeignKey(
        Survey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_campaigns",
        verbose_name=_("post-survey"),
    )
    post_survey_days = models.PositiveSmallIntegerField(_("post-survey after (days)"), default=14)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    post_survey_at = models.DateTimeField(_("post-survey sent at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("care campaign")
        verbose_name_plural = _("care campaigns")
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Arm(models.TextChoices):
    TREATED = "treated", _("Treated")
    CONTROL = "control", _("Control")


class Participation(models.TextChoices):
    KEYWORD = "keyword", _("Replied the keyword")
    CALL = "call", _("Accepted on a care call")
    OFFER = "offer", _("Redeemed the offer")


class CampaignMember(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="members", verbose_name=_("campaign")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="campaign_stays",
        verbose_name=_("customer"),
    )
    arm = models.CharField(_("group"), max_length=8, choices=Arm)
    stratum = models.CharField(_("stratum"), max_length=80, blank=True)
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    skipped_reason = models.CharField(_("not contacted because"), max_length=32, blank=True)
    participated_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    participation = models.CharField(
        _("joined by"), max_length=8, choices=Participation, blank=True
    )
    offer_code = models.CharField(_("offer code"), max_length=16, blank=True)
    before_score = models.PositiveSmallIntegerField(_("score before"), null=True, blank=True)
    before_at = models.DateTimeField(_("answered before at"), null=True, blank=True)
    after_invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_member",
        verbose_name=_("post-survey"),
    )
    after_score = models.PositiveSmallIntegerField(_("score after"), null=True, blank=True)
    after_at = models.DateTimeField(_("answered after at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaignmember_once"),
            models.UniqueConstraint(
                fields=["offer_code"], condition=~Q(offer_code=""), name="campaignmember_offer_code"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["customer", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.customer}"


class CallStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an agent")
    ASSIGNED = "assigned", _("Assigned")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Not called")


class CallOutcome(models.TextChoices):
    JOINED = "joined", _("Joined")
    DECLINED = "declined", _("Declined")
    NO_ANSWER = "no_answer", _("No answer")


class CareCall(models.Model):
    """A care call on a campaign's list, assigned to an agent as cases are."""

    member = models.OneToOneField(
        CampaignMember, on_delete=models.CASCADE, related_name="call", verbose_name=_("member")
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_calls",
        verbose_name=_("agent"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CallStatus, default=CallStatus.WAITING
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=CallOutcome, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("care call")
        verbose_name_plural = _("care calls")
        indexes: ClassVar = [models.Index(fields=["agent", "status"])]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_status_display()}"


class CampaignResult(models.Model):
    """What a finished campaign did for one group of its customers: the knowledge kept."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="results", verbose_name=_("campaign")
    )
    group = models.CharField(
        _("for whom"), max_length=120, help_text=_('"all", a tier, a region or a preference.')
    )
    feature = models.ForeignKey(
        PreferenceFeature,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("preference"),
    )
    actions = models.CharField(_("actions"), max_length=64)
    treated = models.PositiveIntegerField(_("treated"))
    control = models.PositiveIntegerField(_("control"))
    participation_rate = models.FloatField(_("participation rate"), null=True, blank=True)
    effect = models.FloatField(_("difference-in-differences"), null=True, blank=True)
    # xgettext:no-python-format
    effect_low = models.FloatField(_("95% interval, low"), null=True, blank=True)
    # xgettext:no-python-format
    effect_high = models.FloatField(_("95% interval, high"), null=True, blank=True)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"))

    class Meta:
        verbose_name = _("campaign result")
        verbose_name_plural = _("campaign results")
        ordering: ClassVar = ["-finished_at", "group"]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.group}"
