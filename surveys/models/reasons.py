"""Why customers answered as they did: a reason taxonomy and the responses it tags."""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from surveys.models.customers import Language
from surveys.models.responses import Response

OTHER = "other"  # the category of a comment that matches no keyword


class ReasonCategory(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    keywords = models.JSONField(
        _("keywords"),
        default=dict,
        blank=True,
        help_text=_('Keywords per language, e.g. {"zh-hans": ["信号差"], "en": ["signal"]}.'),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)
    responses: "models.ManyToManyField[Response, ResponseReason]" = models.ManyToManyField(
        Response,
        through="ResponseReason",
        related_name="reasons",
        blank=True,
        verbose_name=_("responses"),
    )

    class Meta:
        verbose_name = _("reason category")
        verbose_name_plural = _("reason categories")
        ordering: ClassVar = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        """The name in the active (or given) language: Chinese for zh-*, else English."""
        language = language or get_language() or ""
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name_en

    def clean(self) -> None:
        known = set(Language.values)
        if not isinstance(self.keywords, dict) or not set(self.keywords) <= known:
            raise ValidationError({"keywords": _("An object keyed by language code.")})
        for words in self.keywords.values():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise ValidationError({"keywords": _("Each language holds a list of texts.")})


class ResponseReason(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="reason_links", verbose_name=_("response")
    )
    category = models.ForeignKey(
        ReasonCategory,
        on_delete=models.CASCADE,
        related_name="reason_links",
        verbose_name=_("category"),
    )
    keyword = models.CharField(
        _("matched keyword"), max_length=100, blank=True, help_text=_("Empty for “other”.")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("response reason")
        verbose_name_plural = _("response reasons")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["response", "category"], name="responsereason_once_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.category_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    SUPERSEDED = "superseded", _("Superseded by a newer run")
    FAILED = "failed", _("Failed")


class RecategorisationRun(models.Model):
    """One pass over the stored comments after the taxonomy changed, with its progress."""

    reason = models.CharField(_("why"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus, default=RunStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("responses to do"), default=0)
    done = models.PositiveIntegerField(_("responses done"), default=0)
    up_to_response_id = models.BigIntegerField(
        _("last response covered"),
        default=0,
        help_text=_("Newer responses are categorised when they arrive."),
    )
    last_response_id = models.BigIntegerField(_("cursor"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-categorisation run")
        verbose_name_plural = _("re-categorisation runs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
