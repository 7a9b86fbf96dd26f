"""Which reports are due, making them, and emailing them to subscribers once per period.

- A cadence's report is due for its last complete period (nps.reports.periods) once the
  local time (NPS_REPORTING_TIME_ZONE) is past REPORT_HOUR, so the night's rollup
  refreshes have counted the last day: the daily report of yesterday after 06:00, the
  ten-day and monthly reports the morning after their period ends.
- It is made for every unit with an active subscriber to that cadence, and for each top
  unit (the whole organisation), in settings.NPS_REPORT_LANGUAGE (the project keeps no
  language per person: zh-hans by default). A report that exists is not made again by the
  schedule; `report_generate` itself overwrites (the row is unique per unit, cadence,
  period and language).
- Each active subscription gets each period's report once: `last_sent_period` is claimed
  by a conditional UPDATE before the email leaves, so two runs at once send one email;
  a failed send gives the claim back and the next run tries again.
"""

import logging
from datetime import date, datetime, time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from nps.models import Report, ReportCadence, ReportSubscription
from nps.reporting.days import reporting_zone
from nps.reports.data import report_data
from nps.reports.periods import Period, last_complete
from nps.reports.render import pdf_from_html, period_title, report_html
from surveys.models import Unit

logger = logging.getLogger(__name__)
REPORT_HOUR = time(6, 0)


def report_language() -> str:
    return settings.NPS_REPORT_LANGUAGE


def pdf_missing_message() -> str:
    return _("The PDF could not be made: Chromium (settings.NPS_CHROMIUM) is missing or failed.")


def report_generate(*, unit: Unit, period: Period, language: str) -> Report:
    """Make (or remake) the unit's report for the period: one row per unit, cadence, period
    and language, overwritten in place."""
    data = report_data(unit=unit, period=period, language=language)
    html = report_html(data=data, language=language)
    pdf = pdf_from_html(html)  # outside any transaction: it takes seconds
    if pdf is None:
        html = report_html(data=data, language=language, pdf_unavailable=pdf_missing_message())
    report, _created = Report.objects.update_or_create(
        unit=unit,
        cadence=period.cadence,
        period_start=period.start,
        language=language,
        defaults={"period_end": period.end, "html": html, "pdf": pdf},
    )
    return report


def due_periods(now: datetime) -> list[Period]:
    """The periods whose reports are due at `now`: the last complete one of each cadence."""
    local = now.astimezone(reporting_zone())
    if local.time() < REPORT_HOUR:
        return []
    return [last_complete(cadence, local.date()) for cadence in ReportCadence.values]


def report_units(cadence: str) -> list[Unit]:
    """The units whose `cadence` reports are made: subscribed ones and the top units."""
    subscribed = ReportSubscription.objects.filter(cadence=cadence, active=True).values("unit_id")
    return list(Unit.objects.filter(Q(pk__in=subscribed) | Q(parent__isnull=True)).order_by("pk"))


def reports_generate_due(*, now: datetime | None = None) -> int:
    """Make the due reports that do not exist yet and send them; returns emails sent."""
    now = now or timezone.now()
    language, sent = report_language(), 0
    for period in due_periods(now):
        for unit in report_units(period.cadence):
            report = Report.objects.filter(
                unit=unit, cadence=period.cadence, period_start=period.start, language=language
            ).first()
            if report is None:
                report = report_generate(unit=unit, period=period, language=language)
            sent += report_send(report=report)
    return sent


def _claim(subscription: ReportSubscription, period_start: date) -> bool:
    # The conditional UPDATE is the claim: of two runs at once, one changes the row.
    fresh = Q(last_sent_period__isnull=True) | Q(last_sent_period__lt=period_start)
    return bool(
        ReportSubscription.objects.filter(fresh, pk=subscription.pk, active=True).update(
            last_sent_period=period_start
        )
    )


def report_send(*, report: Report) -> int:
    """Email the report to each active subscriber of its unit and cadence, at most once per
    period each; returns how many emails left."""
    subscriptions = ReportSubscription.objects.filter(
        unit_id=report.unit_id, cadence=report.cadence, active=True
    ).select_related("user")
    sent = 0
    for subscription in subscriptions:
        if not subscription.user.email or not _claim(subscription, report.period_start):
            continue
        try:
            report_message(report=report, to=subscription.user.email).send()
        except Exception:  # give the claim back: the next run tries again
            logger.exception("report %s to subscription %s failed", report.pk, subscription.pk)
            ReportSubscription.objects.filter(
                pk=subscription.pk, last_sent_period=report.period_start
            ).update(last_sent_period=subscription.last_sent_period)
            continue
        sent += 1
    return sent


def report_message(*, report: Report, to: str) -> EmailMultiAlternatives:
    period = Period(report.cadence, report.period_start, report.period_end)
    with translation.override(report.language):
        title = _("%(report)s · %(unit)s · %(period)s") % {
            "report": ReportCadence(report.cadence).label,
            "unit": report.unit.name,
            "period": period_title(period),
        }
        link = settings.NPS_PUBLIC_BASE_URL.rstrip("/") + reverse(
            "reports:detail", args=[report.pk]
        )
        text = _("%(title)s\n\nThe report is attached as a PDF and online at %(link)s") % {
            "title": title,
            "link": link,
        }
        if not report.pdf:
            text += "\n\n" + pdf_missing_message()
    message = EmailMultiAlternatives(subject=f"[NPS] {title}", body=text, to=[to])
    message.attach_alternative(report.html, "text/html")
    if report.pdf:
        message.attach(f"{report_filename(report)}.pdf", bytes(report.pdf), "application/pdf")
    return message


def report_filename(report: Report) -> str:
    return f"nps-{report.cadence}-{report.unit_id}-{report.period_start:%Y%m%d}"
