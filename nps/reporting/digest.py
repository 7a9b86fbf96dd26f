"""The daily digest: yesterday's NPS and detractors, and the open and overdue cases by team.

Who gets one, and what they read, is the dashboard's rule (nps.reporting.scope): every
supervisor reads all teams, every team lead the teams they lead, each answer counted for
the team routing picks for it (region, tier, touchpoint), each case for its own team.
Every figure comes from nps.reporting.queries, so it equals the dashboard's for the same
day and scope: yesterday is a reporting day (NPS_REPORTING_TIME_ZONE, the rollups'
days, refreshed every few minutes); an NPS is shown with its margin of error, and only
from NPS_DASHBOARD_MIN_SAMPLE answers; open and overdue cases are counted now
(followups.sla.overdue), whenever they opened.

Sent once per local day, once the recipient's local time reaches NPS_DIGEST_TIME: a
recipient's time in the zone they read every time in (followups.timezones.user_time_zone:
their profile's, else their team's, else NPS_DEFAULT_TIME_ZONE); "yesterday" is the
day before that local date. A supervisor who also leads a team
gets the supervisor's digest only. A DigestDelivery row (unique user and date) is
inserted first, so a second run at the same time fails the insert and skips; the email
leaves after the insert has committed and its outcome is written back to the row, never
retried. The email is in the site's language (LANGUAGE_CODE).
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from followups.escalation import case_link
from followups.models import DigestDelivery, Team
from followups.roles import SUPERVISORS
from followups.sla import overdue_clock
from followups.timezones import user_time_zone
from nps.reporting import queries
from nps.reporting.contract import Counts, Filters
from nps.reporting.scope import NOTHING, team_scope
from nps.reporting.stats import estimate, min_sample
from surveys.models import Touchpoint

logger = logging.getLogger(__name__)

MAX_LISTED = 100  # detractors and overdue cases listed in full; the rest are counted


@dataclass(frozen=True)
class Recipient:
    user: User
    time_zone: str
    team_scope: tuple[int, ...] | None = None  # None: every team (a supervisor)


def digest_recipients() -> list[Recipient]:
    """Staff with an email whose scope (nps.reporting.scope) holds any team, each once."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    may_read = Q(is_superuser=True) | Q(groups__name=SUPERVISORS) | Q(led_teams__isnull=False)
    recipients = []
    for user in users.filter(may_read).distinct().order_by("pk"):
        scope = team_scope(user)
        if scope == NOTHING:
            continue
        # The zone they read every time in (followups.timezones): profile, team, default.
        zone = user_time_zone(user)
        recipients.append(Recipient(user=user, time_zone=zone, team_scope=scope))
    return recipients


def digests_send(*, now: datetime | None = None) -> int:
    """Claim and send each recipient's digest at most once per local day, from NPS_DIGEST_TIME."""
    now = now or timezone.now()
    send_from = time.fromisoformat(settings.NPS_DIGEST_TIME)
    done = set(
        DigestDelivery.objects.filter(date__gte=(now - timedelta(days=1)).date()).values_list(
            "user_id", "date"
        )
    )
    claimed = 0
    for recipient in digest_recipients():
        local = now.astimezone(ZoneInfo(recipient.time_zone))
        if local.time() >= send_from and (recipient.user.pk, local.date()) not in done:
            claimed += digest_send(recipient=recipient, day=local.date())
    return claimed


def digest_send(*, recipient: Recipient, day: date) -> bool:
    """Send the recipient's digest for `day` once: the unique DigestDelivery insert is the claim."""
    try:
        with transaction.atomic():
            delivery = DigestDelivery.objects.create(user=recipient.user, date=day)
            # The email leaves once the claim is committed, never inside the transaction.
            transaction.on_commit(
                lambda: digest_deliver(delivery=delivery, recipient=recipient, day=day)
            )
    except IntegrityError:
        return False  # another run claimed this day first
    return True


def digest_deliver(*, delivery: DigestDelivery, recipient: Recipient, day: date) -> None:
    try:
        digest_message(recipient=recipient, day=day).send()
    except Exception as exc:  # building or sending failed: record it on the claim, no resend
        logger.exception("digest for user %s on %s failed", recipient.user.pk, day)
        DigestDelivery.objects.filter(pk=delivery.pk).update(error=str(exc)[:500])
        return
    DigestDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())


def digest_message(*, recipient: Recipient, day: date) -> EmailMultiAlternatives:
    zone = ZoneInfo(recipient.time_zone)
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        context = digest_context(team_scope=recipient.team_scope, day=day)
        context.update(recipient=recipient.user, time_zone=recipient.time_zone)
        text = render_to_string("reporting/digest.txt", context)
        html = render_to_string("reporting/digest.html", context)
        subject = _("[NPS] Daily digest for %(day)s") % {"day": f"{context['yesterday']:%Y-%m-%d}"}
    message = EmailMultiAlternatives(subject=subject, body=text, to=[recipient.user.email])
    message.attach_alternative(html, "text/html")
    return message


def digest_context(*, team_scope: tuple[int, ...] | None, day: date) -> dict[str, Any]:
    """What one recipient's digest shows; team_scope None: every team (a supervisor)."""
    yesterday = day - timedelta(days=1)
    f = Filters(start=yesterday, end=yesterday, team_scope=team_scope)
    scoped = Team.objects.order_by("name")
    if team_scope is not None:
        scoped = scoped.filter(pk__in=team_scope)
    teams = list(scoped)
    counts = queries.nps_counts(f)
    return {
        "yesterday": yesterday,
        "scope": _("All teams") if team_scope is None else ", ".join(t.name for t in teams),
        "reporting_time_zone": settings.NPS_REPORTING_TIME_ZONE,
        **nps_of(f, counts),
        **detractors_of(f, counts),
        **cases_of(teams, team_scope=team_scope),
    }


def nps_of(f: Filters, counts: Counts) -> dict[str, Any]:
    """The period's NPS in the scope, overall and by touchpoint (most answers first)."""
    labels = dict(Touchpoint.choices)
    rows = [
        {"touchpoint": labels.get(value, value), "estimate": estimate(found)}
        for value, found in queries.nps_breakdown(f, dimension="touchpoint")
    ]
    return {"nps": estimate(counts), "nps_rows": rows, "minimum": min_sample()}


def detractors_of(f: Filters, counts: Counts) -> dict[str, Any]:
    """The period's detractors in the scope: the rollup's count, the first rows listed."""
    listed = (
        queries.detractor_answers(f)
        .select_related("interaction", "case")
        .prefetch_related("reasons")
        .order_by("score", "created_at", "pk")[:MAX_LISTED]
    )
    rows = []
    for response in listed:
        case = getattr(response, "case", None)
        rows.append(
            {
                "score": response.score,
                "touchpoint": response.interaction.get_touchpoint_display(),
                "comment": response.comment,
                "reasons": ", ".join(reason.label() for reason in response.reasons.all()),
                "case_id": case.pk if case else None,
                "case_link": case_link(case.pk) if case else "",
            }
        )
    return {"detractors": rows, "detractor_count": counts.detractors}


CLOCKS = {"first_contact": gettext_lazy("first contact"), "resolution": gettext_lazy("resolution")}


def cases_of(teams: list[Team], *, team_scope: tuple[int, ...] | None) -> dict[str, Any]:
    """Open and overdue cases now, by team (and those no team has taken, for supervisors)."""
    counts = {row.team_id: row for row in queries.open_cases_by_team(team_scope=team_scope)}
    rows = []
    for team in teams:
        row = counts.get(team.pk)
        rows.append(
            {
                "team": team.name,
                "open": row.open if row else 0,
                "breached": row.overdue if row else 0,
            }
        )
    if None in counts:  # cases no team covers yet (only a supervisor's scope has them)
        rows.append(
            {"team": _("No team"), "open": counts[None].open, "breached": counts[None].overdue}
        )
    overdue = queries.overdue_cases(team_scope=team_scope)
    listed = [
        {
            "id": case.pk,
            "priority": case.priority,
            "team": case.team.name if case.team else _("No team"),
            "clock": CLOCKS[overdue_clock(case)],
            "due": case.due_at,  # type: ignore[attr-defined]  # annotated by queries.overdue_cases
            "link": case_link(case.pk),
        }
        for case in overdue[:MAX_LISTED]
    ]
    return {"team_rows": rows, "breached_cases": listed, "breached_count": overdue.count()}
