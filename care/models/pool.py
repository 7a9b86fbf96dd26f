"""The dissatisfied-customer pool: who is in it, why, since when, and why they left."""

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from care.models.risk import RiskModel
from surveys.models import Customer


class MemberKind(models.TextChoices):
    EXPLICIT = "explicit", _("Explicit")
    POTENTIAL = "potential", _("Potential")


class EntryReason(models.TextChoices):
    DETRACTOR = "detractor", _("Detractor answer")
    CASE_UNRESOLVED = "case_unresolved", _("Case not resolved")
    CASE_UNREACHABLE = "case_unreachable", _("Could not be reached")
    NOT_RECOVERED = "not_recovered", _("Verification shows no recovery")
    COMPLAINT = "complaint", _("Complaint")
    REPEATED_CONTACTS = "repeated_contacts", _("Repeated contacts")
    MODEL = "model", _("Risk model")


class ExitReason(models.TextChoices):
    LATER_ANSWER = "later_answer", _("Later promoter or passive answer")
    CARE_SUCCESS = "care_success", _("Successful care activity")
    AGED = "aged", _("Aged out")
    RISK_FELL = "risk_fell", _("Risk score fell")


class PoolMember(models.Model):
    """One stay in the pool for one reason: a customer may be in for several at once."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="pool_stays", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MemberKind)
    reason = models.CharField(_("reason"), max_length=20, choices=EntryReason)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=64, blank=True, help_text=_("What put them here, e.g. response:12.")
    )
    entered_at = models.DateTimeField(_("entered at"), db_index=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True, db_index=True)
    exit_reason = models.CharField(_("left because"), max_length=16, choices=ExitReason, blank=True)
    risk = models.FloatField(_("risk score"), null=True, blank=True)
    risk_model = models.ForeignKey(
        RiskModel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("scored by"),
    )
    factors = models.JSONField(
        _("factors"),
        default=list,
        blank=True,
        help_text=_("What put them here: [{feature, value, contribution}], largest first."),
    )

    class Meta:
        verbose_name = _("pool member")
        verbose_name_plural = _("pool members")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["customer", "reason"],
                condition=Q(left_at__isnull=True),
                name="poolmember_one_open_stay_per_reason",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["customer", "left_at"])]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_reason_display()}"


POLICY_PK = 1  # the one row


class PoolPolicy(models.Model):
    """When a customer enters the pool without answering, and when a stay ages out."""

    repeat_contacts = models.PositiveSmallIntegerField(
        _("repeated contacts: at least"), default=3, validators=[MinValueValidator(2)]
    )
    repeat_days = models.PositiveSmallIntegerField(
        _("repeated contacts: within (days)"), default=7, validators=[MinValueValidator(1)]
    )
    age_days = models.PositiveSmallIntegerField(
        _("a stay ages out after (days)"), default=90, validators=[MinValueValidator(1)]
    )
    potential_share = models.FloatField(
        _("potential members: riskiest share of customers"),
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Customers the risk model ranks in this top share enter as potential members."),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("pool rules")
        verbose_name_plural = _("pool rules")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=POLICY_PK), name="poolpolicy_one_row"),
        ]

    def __str__(self) -> str:
        return str(
            _("%(n)s contacts in %(days)s days; out after %(age)s days")
            % {"n": self.repeat_contacts, "days": self.repeat_days, "age": self.age_days}
        )

    @classmethod
    def current(cls) -> "PoolPolicy":
        """The row in force (created with the defaults if a database has none)."""
        policy, _created = cls.objects.get_or_create(pk=POLICY_PK)
        return policy
