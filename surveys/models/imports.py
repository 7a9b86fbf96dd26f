"""An import of interactions from a file: its mapping, its progress and its refused rows."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded (mapping to check)")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class InteractionImport(models.Model):
    """One file run once (dry or for real); the counts are what the progress view shows."""

    file = models.CharField(_("stored file"), max_length=500)
    filename = models.CharField(_("file name"), max_length=255)
    mapping = models.JSONField(
        _("column mapping"), default=dict, help_text=_("File column → interaction field.")
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus, default=ImportStatus.UPLOADED
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_added = models.PositiveIntegerField(_("added"), default=0)
    rows_skipped = models.PositiveIntegerField(
        _("already there"), default=0, help_text=_("Rows whose CRM id is already recorded.")
    )
    rows_failed = models.PositiveIntegerField(_("refused"), default=0)
    rate = models.FloatField(_("rows per second"), default=0.0)
    errors_file = models.CharField(_("refused rows file"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last sign of life"),
        null=True,
        blank=True,
        help_text=_("Renewed by a running import with every chunk: a lease on the job."),
    )

    class Meta:
        verbose_name = _("interaction import")
        verbose_name_plural = _("interaction imports")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.filename
