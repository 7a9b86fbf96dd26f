"""Admin for interaction imports: upload, check the mapping, dry run or start, watch progress.

Every page needs the right to record interactions (surveys.add_interaction), the CRM's own
right: an import records interactions as the API does, so it needs what the API needs.
"""

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from surveys.importfiles import ImportFileError, file_header
from surveys.interactions_import import (
    FIELDS,
    Mapping,
    import_preview,
    interaction_import_upload,
    interactions_import_start,
)
from surveys.models import ImportStatus, InteractionImport
from surveys.spreadsheets import csv_download, csv_stream_rows

RIGHT = "surveys.add_interaction"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "CSV (UTF-8 or GBK/GB18030) or Excel (.xlsx); the first row names the columns."
        ),
    )


class MappingForm(forms.Form):
    """One choice per file column: the interaction field it holds, or nothing."""

    def __init__(self, *args: Any, header: list[str], mapping: Mapping, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", gettext("— not imported —"))] + [
            (name, f"{label} ({name})") for name, (label, _names) in FIELDS.items()
        ]
        for index, column in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column or gettext("(column %d)") % (index + 1),
                choices=choices,
                required=False,
                initial=mapping.get(column, ""),
            )
        self.header = header

    def mapping(self) -> Mapping:
        return {
            column: self.cleaned_data[f"column_{index}"]
            for index, column in enumerate(self.header)
            if self.cleaned_data.get(f"column_{index}")
        }


@admin.register(InteractionImport)
class InteractionImportAdmin(admin.ModelAdmin):
    list_display = (
        "filename", "status", "dry_run", "rows_done", "rows_added", "rows_skipped",
        "rows_failed", "created_by", "created_at", "progress_link",
    )  # fmt: skip
    list_filter = ("status", "dry_run")
    list_select_related = ("created_by",)
    readonly_fields = (
        "filename", "mapping", "dry_run", "status", "message", "rows_total", "rows_done",
        "rows_added", "rows_skipped", "rows_failed", "rate", "created_by", "created_at",
        "started_at", "finished_at", "heartbeat_at",
    )  # fmt: skip
    exclude = ("file", "errors_file")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(RIGHT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RIGHT)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an import is changed only by running it

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what was imported, by whom

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RIGHT)

    @admin.display(description=_("progress"))
    def progress_link(self, obj: InteractionImport) -> str:
        url = reverse("admin:surveys_interactionimport_progress", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("progress"))

    def get_urls(self) -> list[URLPattern]:
        def view(name: str, route: str, function: Any) -> URLPattern:
            wrapped = self.admin_site.admin_view(function)
            return path(route, wrapped, name=f"surveys_interactionimport_{name}")

        return [
            view("mapping", "<int:pk>/mapping/", self.mapping_view),
            view("progress", "<int:pk>/progress/", self.progress_view),
            view("progress_json", "<int:pk>/progress.json", self.progress_json_view),
            view("errors", "<int:pk>/errors.csv", self.errors_view),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **values: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            **values,
        }

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The upload page: the file is kept and its mapping detected, then checked by a person."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = UploadForm(request.POST or None, request.FILES or None)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = interaction_import_upload(
                    chunks=upload.chunks(), filename=upload.name, user=request.user
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return HttpResponseRedirect(self._url("mapping", job))
        context = self._context(request, gettext("Import interactions from a file"), form=form)
        return TemplateResponse(request, "admin/surveys/interactionimport/upload.html", context)

    def mapping_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The first rows and the mapping; a dry run or the import starts from here."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        job = get_object_or_404(InteractionImport, pk=pk)
        try:
            header = file_header(Path(job.file))
        except (OSError, ImportFileError) as exc:
            return HttpResponse(str(exc), status=410)
        form = MappingForm(request.POST or None, header=header, mapping=job.mapping)
        if request.method == "POST" and form.is_valid():
            try:
                interactions_import_start(
                    job=job, mapping=form.mapping(), dry_run="dry_run" in request.POST
                )
            except ImportFileError as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(self._url("progress", job))
        preview = import_preview(Path(job.file), mapping=job.mapping)
        context = self._context(
            request, gettext("Check the columns"), job=job, form=form, preview=preview
        )
        return TemplateResponse(request, "admin/surveys/interactionimport/mapping.html", context)

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Counts and a bar that a small script keeps up to date from progress.json."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        job = get_object_or_404(InteractionImport, pk=pk)
        context = self._context(
            request, gettext("Import of %(file)s") % {"file": job.filename}, job=job,
            progress_url=self._url("progress_json", job), errors_url=self._url("errors", job),
            mapping_url=self._url("mapping", job),
        )  # fmt: skip
        return TemplateResponse(request, "admin/surveys/interactionimport/progress.html", context)

    def progress_json_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return JsonResponse(import_progress(get_object_or_404(InteractionImport, pk=pk)))

    def errors_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The refused rows (row, field, message) as a CSV a spreadsheet opens safely."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        job = get_object_or_404(InteractionImport, pk=pk)
        if not job.errors_file or not Path(job.errors_file).exists():
            return HttpResponse(status=404)
        with Path(job.errors_file).open(encoding="utf-8-sig", newline="") as stream:
            rows = csv_stream_rows(stream)
            header = next(rows, ["row", "field", "message"])
            return csv_download(f"import-{job.pk}-errors.csv", header, rows)

    def _url(self, name: str, job: InteractionImport) -> str:
        return reverse(f"admin:surveys_interactionimport_{name}", args=[job.pk])


def import_progress(job: InteractionImport) -> dict[str, Any]:
    """What the progress view shows, as the JSON its script polls."""
    return {
        "status": job.status,
        "status_label": str(ImportStatus(job.status).label),
        "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED),
        "dry_run": job.dry_run,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "rows_added": job.rows_added,
        "rows_skipped": job.rows_skipped,
        "rows_failed": job.rows_failed,
        "rate": round(job.rate, 1),
        "message": job.message,
    }
