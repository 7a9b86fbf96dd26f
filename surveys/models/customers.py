"""Customers and their service interactions."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.occurrence import validate_occurred_at


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Chinese (simplified)")
    EN = "en", _("English")
    BO = "bo", _("Tibetan")


class CustomerLanguage(models.TextChoices):
    """What a customer reads: one language, or Tibetan and Chinese together."""

    ZH_HANS = "zh-hans", _("Chinese (simplified)")
    EN = "en", _("English")
    BO = "bo", _("Tibetan")
    BO_ZH = "bo-zh", _("Tibetan and Chinese")


# The texts a customer gets, in this order; a bilingual customer reads both in one SMS.
CUSTOMER_LANGUAGES: dict[str, tuple[str, ...]] = {
    CustomerLanguage.BO_ZH: (Language.BO, Language.ZH_HANS),
}


class Tier(models.TextChoices):
    A = "A", _("A (high value)")
    B = "B", _("B")
    C = "C", _("C")


class Touchpoint(models.TextChoices):
    STORE_OWN = "store_own", _("Store (own)")
    STORE_PARTNER = "store_partner", _("Store (partner)")
    STORE_AGENT = "store_agent", _("Store (agent)")
    HOTLINE = "hotline", _("Hotline")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    ONLINE = "online", _("Online")
    SELF_SERVICE = "self_service", _("Self-service terminal")


class InteractionKind(models.TextChoices):
    SERVICE = "service", _("Service")
    COMPLAINT = "complaint", _("Complaint")


# A monthly ARPU above this is a data error, not a customer (yuan); the change against the
# previous month is bounded by the same figure either way.
ARPU_MAX = Decimal("100000")


def default_time_zone() -> str:
    return settings.NPS_DEFAULT_TIME_ZONE


class Customer(models.Model):
    phone = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=CustomerLanguage,
        default=CustomerLanguage.ZH_HANS,
        help_text=_("Tibetan and Chinese: every SMS carries both, Tibetan first."),
    )
    tier = models.CharField(
        _("value tier"),
        max_length=1,
        choices=Tier,
        default=Tier.C,
        help_text=_("The CRM's tier, else derived from ARPU by the tier thresholds."),
    )
    arpu = models.DecimalField(
        _("monthly ARPU (yuan)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(ARPU_MAX)],
    )
    arpu_trend_yuan = models.DecimalField(
        _("ARPU change on the previous month (yuan)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(-ARPU_MAX), MaxValueValidator(ARPU_MAX)],
        help_text=_("This month's ARPU minus last month's, in yuan; negative when it fell."),
    )
    region = models.CharField(_("region"), max_length=64, blank=True, db_index=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_time_zone)
    is_mobile = models.BooleanField(
        _("valid mobile number"), default=True, help_text=_("Set from the number when stored.")
    )
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    in_callback = models.BooleanField(
        _("has an open callback case"),
        default=False,
        help_text=_("Set by follow-ups; no survey is sent meanwhile."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # Opting out or back in is its own right: viewing or editing a customer is not enough.
        permissions: ClassVar = [("change_consent", "Can opt a customer out or back in")]

    def __str__(self) -> str:
        return self.name or self.phone

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this customer reads, preferred first: ("bo", "zh-hans") for bo-zh."""
        return CUSTOMER_LANGUAGES.get(self.language, (self.language,))


class Interaction(models.Model):
    external_id = models.CharField(_("CRM id"), max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="interactions", verbose_name=_("customer")
    )
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint)
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=InteractionKind,
        default=InteractionKind.SERVICE,
        db_default=InteractionKind.SERVICE,  # rows written by code that predates the field
        help_text=_("A complaint puts the customer in the dissatisfied-customer pool."),
    )
    channel = models.CharField(
        _("channel"), max_length=32, blank=True, help_text=_("e.g. app, web, wechat, ivr")
    )
    business_type = models.CharField(_("business type"), max_length=64, blank=True)
    staff_id = models.CharField(_("service staff id"), max_length=64, blank=True)
    unit_code = models.CharField(
        _("store or channel id"),
        max_length=64,
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the field
        help_text=_("The CRM's id of the store or channel that served the customer."),
    )
    unit = models.ForeignKey(
        "surveys.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("unit"),
        help_text=_("Set from the store or channel id by the CRM unit ids."),
    )
    staff_name = models.CharField(_("service staff name"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), validators=[validate_occurred_at])
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes: ClassVar = [
            models.Index(fields=["touchpoint", "occurred_at"]),
            models.Index(fields=["occurred_at"]),  # the dashboard rollups read a day at a time
            # Mapping a CRM id to a unit attributes the interactions still without one
            # (surveys.units): only those rows are indexed, however many interactions exist.
            models.Index(
                fields=["unit_code"],
                condition=models.Q(unit__isnull=True) & ~models.Q(unit_code=""),
                name="interaction_unmapped_code",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id
