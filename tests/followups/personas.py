"""The people who work cases, for the workflow and permission tests.

Plain builders, not fixtures: each test module wraps them in its own fixtures. Users get
their role through the groups roles_ensure creates (a flushed test database may not have
seen post_migrate), and every one of them is staff, so only roles and rows decide.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth.models import Group, User

from followups.assignment import case_assign
from followups.cases import case_open
from followups.models import Case, Team
from followups.permissions import roles_ensure
from followups.roles import AGENTS, SUPERVISORS, TEAM_LEADS
from surveys.models import Response
from tests.factories import AgentFactory, TeamFactory

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Personas:
    team: Team  # North covers BJ, where the customers of these tests live
    other_team: Team  # South covers SH
    agent: User  # Ann, North's only agent: every BJ case is hers
    other_agent: User  # Bob, South's only agent
    lead: User  # Lena leads North
    other_lead: User  # Leo leads South
    supervisor: User  # Sue supervises every team


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def personas_make() -> Personas:
    roles_ensure()
    lead, other_lead = staff("lena", TEAM_LEADS), staff("leo", TEAM_LEADS)
    team = TeamFactory(name="North", regions=["BJ"], lead=lead)
    other_team = TeamFactory(name="South", regions=["SH"], lead=other_lead)
    agent, other_agent = staff("ann", AGENTS), staff("bob", AGENTS)
    AgentFactory(name="Ann", team=team, user=agent, capacity=20)
    AgentFactory(name="Bob", team=other_team, user=other_agent, capacity=20)
    return Personas(
        team=team,
        other_team=other_team,
        agent=agent,
        other_agent=other_agent,
        lead=lead,
        other_lead=other_lead,
        supervisor=staff("sue", SUPERVISORS),
    )


def assigned_case(
    detractor: Callable[..., Response], phone: str = "+8613900000001", region: str = "BJ"
) -> Case:
    """A detractor's case (BJ: Ann's) opened and assigned through the services, Monday 10:00."""
    with time_machine.travel(MONDAY_10, tick=False):
        case = case_open(response=detractor(phone=phone, region=region))
        assert case is not None
        case_assign(case_id=case.pk)
    case.refresh_from_db()
    return case
