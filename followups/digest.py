"""The daily digest: yesterday's detractors, open and breached cases by team, NPS by touchpoint.

Every supervisor (all teams, local time in NPS_DEFAULT_TIME_ZONE) and every team lead
(their teams, local time in the zone of the first team they lead) gets one email per
local day, once their local time reaches NPS_DIGEST_TIME. A supervisor who also leads a
team gets the supervisor's digest only. "Yesterday" is the recipient's local yesterday.

A lead's responses are those of the regions their teams cover (for the default route,
the regions no team claims), as routing assigns them; a lead's cases are their teams'.

Sent once per day: a DigestDelivery row (unique user and date) is inserted first, so a
second run at the same time fails the insert and skips; the email leaves after the
insert has committed and its outcome is written back to the row, never retried.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from followups.escalation import case_link
from followups.models import OPEN_STATUSES, Case, DigestDelivery, Team
from followups.roles import SUPERVISORS
from followups.sla import due_at, overdue, overdue_clock
from surveys.models import Category, Response, Touchpoint

logger = logging.getLogger(__name__)

MAX_LISTED = 100  # detractors and breached cases listed in full; the rest are counted


@dataclass(frozen=True)
class Recipient:
    user: User
    time_zone: str
    team_ids: list[int] | None = None  # None: every team (a supervisor)


def nps_score(*, promoters: int, detractors: int, total: int) -> int | None:
    """Net Promoter Score: % promoters minus % detractors, rounded; None without answers."""
    if total == 0:
        return None
    return round((promoters - detractors) * 100 / total)


def digest_recipients() -> list[Recipient]:
    """Supervisors (group members) and team leads with an email, each once."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    supervisors = users.filter(groups__name=SUPERVISORS).distinct().order_by("pk")
    recipients = [Recipient(user=u, time_zone=settings.NPS_DEFAULT_TIME_ZONE) for u in supervisors]
    teams_by_lead: dict[Any, list[Team]] = {}
    leads = Team.objects.filter(lead__in=users).exclude(lead__in=supervisors)
    for team in leads.select_related("lead").order_by("pk"):
        teams_by_lead.setdefault(team.lead, []).append(team)
    for lead, teams in teams_by_lead.items():
        team_ids = [t.pk for t in teams]
        recipients.append(Recipient(user=lead, time_zone=teams[0].time_zone, team_ids=team_ids))
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
            claimed += digest_send(recipient=recipient, day=local.date(), now=now)
    return claimed


def digest_send(*, recipient: Recipient, day: date, now: datetime) -> bool:
    """Send the recipient's digest for `day` once: the unique DigestDelivery insert is the claim."""
    try:
        with transaction.atomic():
            delivery = DigestDelivery.objects.create(user=recipient.user, date=day)
            # The email leaves once the claim is committed, never inside the transaction.
            transaction.on_commit(
                lambda: digest_deliver(delivery=delivery, recipient=recipient, day=day, now=now)
            )
    except IntegrityError:
        return False  # another run claimed this day first
    return True


def digest_deliver(
    *, delivery: DigestDelivery, recipient: Recipient, day: date, now: datetime
) -> None:
    try:
        digest_message(recipient=recipient, day=day, now=now).send()
    except Exception as exc:  # building or sending failed: record it on the claim, no resend
        logger.exception("digest for user %s on %s failed", recipient.user.pk, day)
        DigestDelivery.objects.filter(pk=delivery.pk).update(error=str(exc)[:500])
        return
    DigestDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())


def digest_message(*, recipient: Recipient, day: date, now: datetime) -> EmailMultiAlternatives:
    zone = ZoneInfo(recipient.time_zone)
    context = digest_context(team_ids=recipient.team_ids, zone=zone, day=day, now=now)
    context.update(recipient=recipient.user, time_zone=recipient.time_zone)
    with timezone.override(zone):
        text = render_to_string("followups/digest.txt", context)
        html = render_to_string("followups/digest.html", context)
    subject = f"[NPS] Daily digest for {context['yesterday']:%Y-%m-%d}"
    message = EmailMultiAlternatives(subject=subject, body=text, to=[recipient.user.email])
    message.attach_alternative(html, "text/html")
    return message


def covered_by(teams: Iterable[Team], all_teams: Iterable[Team]) -> Q:
    """Responses of the regions these teams cover, as team_by_region routes them."""
    teams, all_teams = list(teams), list(all_teams)
    covered = Q(customer__region__in={r for t in teams for r in t.regions})
    if any(t.is_default_route for t in teams):  # the default route takes unclaimed regions
        claimed = {r for t in all_teams for r in t.regions}
        covered |= ~Q(customer__region__in=claimed)
    return covered


def digest_context(
    *, team_ids: list[int] | None, zone: ZoneInfo, day: date, now: datetime
) -> dict[str, Any]:
    """What one recipient's digest shows; team_ids None: everything (a supervisor)."""
    yesterday = day - timedelta(days=1)
    since = datetime.combine(yesterday, time.min, tzinfo=zone)
    until = datetime.combine(day, time.min, tzinfo=zone)
    responses: QuerySet[Response] = Response.objects.filter(
        created_at__gte=since, created_at__lt=until
    )
    all_teams = list(Team.objects.order_by("name"))
    teams = all_teams if team_ids is None else [t for t in all_teams if t.pk in team_ids]
    cases: QuerySet[Case] = Case.objects.all()
    if team_ids is not None:
        responses = responses.filter(covered_by(teams, all_teams))
        cases = cases.filter(team_id__in=team_ids)
    return {
        "yesterday": yesterday,
        "scope": "all teams" if team_ids is None else ", ".join(t.name for t in teams),
        **detractors_of(responses),
        "nps_rows": nps_by_touchpoint(responses),
        **cases_by_team(cases, teams, now=now, everything=team_ids is None),
    }


def detractors_of(responses: QuerySet[Response]) -> dict[str, Any]:
    detractors = responses.filter(category=Category.DETRACTOR)
    listed = (
        detractors.select_related("interaction", "case")
        .prefetch_related("reasons")
        .order_by("score", "created_at")[:MAX_LISTED]
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
    return {"detractors": rows, "detractor_count": detractors.count()}


def nps_by_touchpoint(responses: QuerySet[Response]) -> list[dict[str, Any]]:
    counts = (
        responses.values("interaction__touchpoint")
        .annotate(
            total=Count("pk"),
            promoters=Count("pk", filter=Q(category=Category.PROMOTER)),
            detractors=Count("pk", filter=Q(category=Category.DETRACTOR)),
        )
        .order_by("interaction__touchpoint")
    )
    rows = [
        {
            "touchpoint": Touchpoint(row["interaction__touchpoint"]).label,
            "n": row["total"],
            "nps": nps_score(
                promoters=row["promoters"], detractors=row["detractors"], total=row["total"]
            ),
        }
        for row in counts
    ]
    if rows:
        rows.append(
            {
                "touchpoint": "All",
                "n": sum(r["total"] for r in counts),
                "nps": nps_score(
                    promoters=sum(r["promoters"] for r in counts),
                    detractors=sum(r["detractors"] for r in counts),
                    total=sum(r["total"] for r in counts),
                ),
            }
        )
    return rows


def cases_by_team(
    cases: QuerySet[Case], teams: list[Team], *, now: datetime, everything: bool
) -> dict[str, Any]:
    counts = {
        row["team_id"]: row
        for row in cases.filter(status__in=OPEN_STATUSES)
        .values("team_id")
        .annotate(open=Count("pk"), breached=Count("pk", filter=overdue(now)))
    }
    rows = [
        {"team": t.name, **{k: counts.get(t.pk, {}).get(k, 0) for k in ("open", "breached")}}
        for t in teams
    ]
    if everything and None in counts:  # cases no team covers yet
        rows.append({"team": "No team", **{k: counts[None][k] for k in ("open", "breached")}})
    in_breach = (
        cases.filter(overdue(now))
        .annotate(due_at=due_at())
        .select_related("team")
        .order_by("due_at", "pk")
    )
    listed = []
    for case in in_breach[:MAX_LISTED]:
        listed.append(
            {
                "id": case.pk,
                "priority": case.priority,
                "team": case.team.name if case.team else "No team",
                "clock": overdue_clock(case).replace("_", " "),
                "due": case.due_at,
                "link": case_link(case.pk),
            }
        )
    return {"team_rows": rows, "breached_cases": listed, "breached_count": in_breach.count()}
