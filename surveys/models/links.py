"""Survey links: one per invitation sent by link, found by the SHA-256 of its token."""

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models.invitations import Invitation


class SurveyLink(models.Model):
    """The page a link-delivery survey's SMS points to; single-use, expiring.

    The token itself is never stored: it is derived from `nonce` with the secret key
    (surveys.links.link_token), so a retry of the same invitation sends the same link, and
    a copy of the database alone opens no survey. Lookup is by `token_hash`.
    """

    invitation = models.OneToOneField(
        Invitation, on_delete=models.CASCADE, related_name="link", verbose_name=_("invitation")
    )
    nonce = models.CharField(_("nonce"), max_length=32)
    token_hash = models.CharField(_("token hash (SHA-256)"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey link")
        verbose_name_plural = _("survey links")
        indexes: ClassVar = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"link of invitation #{self.invitation_id}"
