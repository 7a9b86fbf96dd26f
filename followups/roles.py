"""Staff roles: agents work their cases, team leads their teams', supervisors all.

A role is a Django group (created after migrate, see followups.apps); a team lead is the
`lead` of one or more teams; an agent is a user linked to an Agent row.
"""

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as StaffUser

from followups.models import Agent, Team
from surveys.units import children_by_parent, units_below

AGENTS, TEAM_LEADS, SUPERVISORS = "Agents", "Team leads", "Supervisors"
# Not a rank: the few people trusted to change a customer's consent (surveys.change_consent).
CONSENT_OFFICERS = "Consent officers"

User = StaffUser | AnonymousUser


def is_supervisor(user: User) -> bool:
    if not user.is_authenticated:
        return False
    return bool(user.is_superuser) or user.groups.filter(name=SUPERVISORS).exists()


def led_team_ids(user: User) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Team.objects.filter(lead=user).values_list("pk", flat=True))


def agent_of(user: User) -> Agent | None:
    if not user.is_authenticated:
        return None
    return Agent.objects.filter(user=user).select_related("team").first()


NOTHING: tuple[int, ...] = ()


def team_scope(user: User) -> tuple[int, ...] | None:
    """Whose figures a person reads (the dashboard, its exports, the digest, the care pages):
    None for every team (a supervisor), a team lead's team ids, NOTHING for anyone else.
    Only active staff read figures."""
    if not user.is_active or not getattr(user, "is_staff", False):
        return NOTHING
    if is_supervisor(user):
        return None
    return tuple(led_team_ids(user))


def sees_units(user: User) -> bool:
    """Whether unit_scope gives `user` any unit (supervisors and unit owners): the pages
    offer the unit pages only to them."""
    if is_supervisor(user):
        return True
    return user.is_authenticated and user.owned_units.exists()


def unit_scope(user: User) -> list[int] | None:
    """The units whose figures, problems and reports `user` may see: None for everything (a
    supervisor), else the units they own and every unit below them (empty: none)."""
    if is_supervisor(user):
        return None
    if not user.is_authenticated:
        return []
    owned = list(user.owned_units.values_list("pk", flat=True))
    if not owned:
        return []
    tree = children_by_parent()
    found: set[int] = set()
    for unit in owned:
        found.update(units_below(unit, tree=tree))
    return sorted(found)
