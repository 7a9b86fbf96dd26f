"""Whose figures a person reads: the one rule for the dashboard, its exports and the digest.

A supervisor (the Supervisors group, or a superuser) reads every team; a team lead the
teams they lead, each figure counted for the team routing picks (nps.reporting.queries);
anyone else nothing. Only staff read figures: the pages they link to are the admin's.
"""

from followups.roles import User, is_supervisor, led_team_ids

NOTHING: tuple[int, ...] = ()


def team_scope(user: User) -> tuple[int, ...] | None:
    """None: every team (a supervisor); a team lead's team ids; NOTHING for anyone else."""
    if not user.is_active or not getattr(user, "is_staff", False):
        return NOTHING
    if is_supervisor(user):
        return None
    return tuple(led_team_ids(user))
