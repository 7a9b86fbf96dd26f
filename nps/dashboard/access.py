"""Who may open the dashboard: supervisors everything, a team lead the teams they lead."""

from django.core.exceptions import PermissionDenied

from followups.roles import User, is_supervisor, led_team_ids


def team_scope_for(user: User) -> tuple[int, ...] | None:
    """None for a supervisor (everything), a team lead's team ids; PermissionDenied otherwise."""
    if not user.is_staff:  # type: ignore[union-attr]
        raise PermissionDenied
    if is_supervisor(user):
        return None
    if led := led_team_ids(user):
        return tuple(led)
    raise PermissionDenied


def may_see_dashboard(user: User) -> bool:
    """The rule of team_scope_for, as a yes or no (the admin's link to the dashboard)."""
    try:
        team_scope_for(user)
    except PermissionDenied:
        return False
    return True
