"""A report's page (HTML with inline SVG charts) and its PDF, printed from the same page.

The PDF is headless Chromium's print-to-PDF of the stored HTML (settings.NPS_CHROMIUM).
Without Chromium the page is still made and the PDF is left empty: the page, the admin
and a system check say so.
"""

import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from followups.models import ProblemStatus
from nps.models import ReportCadence, TargetMetric
from nps.reporting.days import reporting_zone
from nps.reports import charts
from nps.reports.chromium import chromium_path
from nps.reports.data import ReportData, problem_is_overdue
from nps.reports.periods import Period, ten_day_part
from surveys.models import Unit

logger = logging.getLogger(__name__)
PDF_TIMEOUT_SECONDS = 120


def period_title(period: Period) -> str:
    if period.cadence == ReportCadence.DAILY:
        return f"{period.start:%Y-%m-%d}"
    if period.cadence == ReportCadence.TEN_DAY:
        part = {1: _("first ten days"), 2: _("second ten days"), 3: _("last days")}
        return _("%(month)s, %(part)s") % {
            "month": f"{period.start:%Y-%m}",
            "part": part[ten_day_part(period)],
        }
    return f"{period.start:%Y-%m}"


def _trend_chart(data: ReportData) -> str:
    points = [
        charts.LinePoint(
            label=f"{p.day:%m-%d}",
            value=p.estimate.nps,
            low=p.estimate.low if p.estimate.nps is not None else None,
            high=p.estimate.high if p.estimate.nps is not None else None,
        )
        for p in data.trend
    ]
    return charts.line(points)


def _touchpoint_chart(data: ReportData) -> str:
    items = [
        charts.Bar(label, e.nps, e.low, e.high, note=f"n={e.n}")
        for label, e in data.touchpoints
        if e.nps is not None
    ]
    return charts.bars(items, lo=-100, hi=100)


def _reason_chart(figures: list[Any], colour: str) -> str:
    items = [
        charts.Bar(f.name, f.count, note=f"({f.share:.0f}%)" if f.share else "") for f in figures
    ]
    return charts.bars(items, colour=colour)


def _targets(data: ReportData) -> list[dict[str, Any]]:
    names = dict(
        Unit.objects.filter(pk__in={t.unit_id for t in data.targets}).values_list("pk", "name")
    )
    metrics = dict(TargetMetric.choices)
    return [
        {
            "unit": names.get(t.unit_id, t.unit_id),
            "metric": metrics.get(t.metric, t.metric),
            "result": t,
        }
        for t in data.targets
    ]


def report_html(*, data: ReportData, language: str, pdf_unavailable: str = "") -> str:
    """The report's page in `language`, times in the reporting zone; `pdf_unavailable`:
    a note shown on screen only (never printed)."""
    now = timezone.now()
    with translation.override(language), timezone.override(reporting_zone()):
        context = {
            "pdf_unavailable": pdf_unavailable,
            "problem_counts": [
                (label, data.problem_counts.get(value, 0)) for value, label in ProblemStatus.choices
            ],
            "problems": [
                {"problem": p, "overdue": problem_is_overdue(p, now)} for p in data.problems
            ],
            "targets": _targets(data),
            "data": data,
            "language": language,
            "title": _("%(report)s · %(unit)s · %(period)s")
            % {
                "report": ReportCadence(data.period.cadence).label,
                "unit": data.unit.name,
                "period": period_title(data.period),
            },
            "trend_chart": _trend_chart(data),
            "touchpoint_chart": _touchpoint_chart(data),
            "reasons_chart": _reason_chart(data.detractor_reasons, charts.NEGATIVE),
            "drivers_chart": _reason_chart(data.drivers, charts.POSITIVE),
            "generated_at": now,
            "time_zone": settings.NPS_REPORTING_TIME_ZONE,
            "min_sample": data.estimate.minimum,
        }
        return render_to_string("reports/report.html", context)


def pdf_from_html(html: str) -> bytes | None:
    """Print the page to A4 PDF with headless Chromium; None when Chromium is missing or fails."""
    binary = chromium_path()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="nps-report-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",  # runs as a service user or root in containers
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={folder}/profile",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            subprocess.run(  # noqa: S603 (a fixed binary and our own temporary file)
                command, check=True, capture_output=True, timeout=PDF_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.SubprocessError):
            logger.exception("printing a report to PDF failed")
            return None
        return pdf.read_bytes() if pdf.is_file() and pdf.stat().st_size else None
