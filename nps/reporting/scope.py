"""Whose figures a person reads: the one rule for the dashboard, its exports and the digest.

A supervisor (the Supervisors group, or a superuser) reads every team; a team lead the
teams they lead, each figure counted for the team routing picks (nps.reporting.queries);
anyone else nothing. Only staff read figures: the pages they link to are the admin's.
The rule lives in followups.roles (the care pages apply it too).
"""

from followups.roles import NOTHING, team_scope

__all__ = ["NOTHING", "team_scope"]
