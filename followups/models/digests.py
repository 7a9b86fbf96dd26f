"""Daily digests: one row per recipient and local day, the claim that makes sending once."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DigestDelivery(models.Model):
    """Inserted before the digest is sent: the unique (user, date) lets one run send it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="digest_deliveries",
        verbose_name=_("user"),
    )
    date = models.DateField(_("digest date"), help_text=_("The recipient's local date."))
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, help_text=_("Why the email was not sent."))

    class Meta:
        verbose_name = _("digest delivery")
        verbose_name_plural = _("digest deliveries")
        ordering: ClassVar = ["-date", "user"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "date"], name="digest_once_per_user_and_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} → {self.user}"
