"""Where staff land after logging in: where they work, not the admin's index.

An agent lands on My cases, a team lead on the case list (their teams' cases, soonest due
first), a supervisor on the dashboard; a superuser keeps the index. The admin's login
sends everyone to the index unless the login page was given another `next`; the
middleware turns only that default into the user's landing page.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from followups.roles import User, agent_of, is_supervisor, led_team_ids


def landing_url(user: User) -> str | None:
    """The page this user works on; None: the admin's index."""
    if not user.is_authenticated or user.is_superuser:
        return None
    try:
        if is_supervisor(user):
            return reverse("dashboard")
        if led_team_ids(user):
            return reverse("admin:followups_case_changelist")
        if agent_of(user) is not None:
            return reverse("admin:followups_case_mine")
    except NoReverseMatch:  # a site without the dashboard
        return None
    return None


class LandingMiddleware:
    """After a successful admin login bound for the index, go to `landing_url` instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method == "POST"
            and request.path == reverse("admin:login")
            and isinstance(response, HttpResponseRedirect)
            and response["Location"] == reverse("admin:index")
            and (landing := landing_url(request.user))
        ):
            return HttpResponseRedirect(landing)
        return response
