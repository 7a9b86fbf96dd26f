"""The time zone a staff member reads times in, and how a time is shown to them.

The rule has one home, `user_time_zone`: the zone of their profile, else their team's (as
an agent, else the first team they lead), else settings.NPS_DEFAULT_TIME_ZONE. The
middleware activates it for every request, so the admin, My cases and every form show
and read local times; `local_time` names the zone next to the time.

The zone is looked up once, at login, and kept in the session: a request costs no query
for it. Saving one's own profile (`staff_time_zone_set`) updates the session too; a zone
changed for someone else applies at their next login.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from followups.models import OPEN_STATUSES, Agent, StaffProfile, Team
from followups.roles import User

SESSION_KEY = "nps_time_zone"
# A due time this close is highlighted as near (My cases, the case list and page).
DUE_SOON = timedelta(hours=1)


def zone_valid(name: str) -> bool:
    """Whether `name` is a zone of the tz database (ZoneInfo caches what it loaded)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def user_time_zone(user: User) -> str:
    """The zone this user reads times in: their profile's, else their team's (an agent's
    team, else the first team they lead), else NPS_DEFAULT_TIME_ZONE."""
    if not user.is_authenticated:
        return settings.NPS_DEFAULT_TIME_ZONE
    chosen = StaffProfile.objects.filter(user=user).values_list("time_zone", flat=True).first()
    team_zone = (
        Agent.objects.filter(user=user).values_list("team__time_zone", flat=True).first()
        or Team.objects.filter(lead=user).order_by("pk").values_list("time_zone", flat=True).first()
    )
    for zone in (chosen, team_zone):
        if zone and zone_valid(zone):
            return zone
    return settings.NPS_DEFAULT_TIME_ZONE


def remember_time_zone(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """At login (connected in followups.apps): keep the user's zone in their session."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = user_time_zone(user)


def staff_time_zone_set(*, request: HttpRequest, time_zone: str) -> str:
    """Save the user's own zone (blank: their team's) and use it from this request on."""
    StaffProfile.objects.update_or_create(user=request.user, defaults={"time_zone": time_zone})
    zone = user_time_zone(request.user)
    request.session[SESSION_KEY] = zone
    timezone.activate(ZoneInfo(zone))
    return zone


class UserTimeZoneMiddleware:
    """Activate the signed-in user's zone (`user_time_zone`, kept in the session) per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        zone = session.get(SESSION_KEY) if session is not None else None
        if zone is None and request.user.is_authenticated:  # a session from before login kept it
            zone = session[SESSION_KEY] = user_time_zone(request.user)  # type: ignore[index]
        if zone and zone_valid(zone):
            timezone.activate(ZoneInfo(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def local_time(moment: datetime | None) -> str:
    """A time as the reader reads it: in the active zone, and naming it
    ("Dec. 1, 2026, 12:15 p.m. (Asia/Shanghai)")."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return f"{formats.localize(local)} ({timezone.get_current_timezone_name()})"


def span_words(span: timedelta) -> str:
    """A span as people read it: "1 d 3 h 05 min", "1 h 50 min", "20 min"."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h %(m)02d min") % {"d": days, "h": hours, "m": minutes}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


def due_words(case: Any, *, now: datetime) -> tuple[str, str]:
    """(text, urgency) of a case's due time (`sla.due_at`, annotated as `due_at`) read
    relatively: ("due in 1 h 50 min", "later"), ("due in 20 min", "soon"), ("overdue by
    20 min", "overdue"). Overdue is `sla.overdue` (annotated as `is_overdue`): a case on
    hold past its due time is not."""
    due = getattr(case, "due_at", None)
    if due is None or case.status not in OPEN_STATUSES:
        return "", ""
    if case.is_overdue:
        return _("overdue by %(span)s") % {"span": span_words(now - due)}, "overdue"
    if due <= now:  # on hold: its clocks are stopped
        return _("due %(span)s ago, on hold") % {"span": span_words(now - due)}, "held"
    urgency = "soon" if due - now <= DUE_SOON else "later"
    return _("due in %(span)s") % {"span": span_words(due - now)}, urgency
