"""Who may open the dashboard: whoever nps.reporting.scope gives a scope (supervisors
everything, a team lead the teams they lead)."""

from django.core.exceptions import PermissionDenied

from followups.roles import User
from nps.reporting.scope import NOTHING, team_scope


def team_scope_for(user: User) -> tuple[int, ...] | None:
    """The user's scope (nps.reporting.scope); PermissionDenied when it holds nothing."""
    scope = team_scope(user)
    if scope == NOTHING:
        raise PermissionDenied
    return scope


def may_see_dashboard(user: User) -> bool:
    """The rule of team_scope_for, as a yes or no (the admin's link to the dashboard)."""
    return team_scope(user) != NOTHING
