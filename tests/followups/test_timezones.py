"""Times staff read: in their zone (profile, else team, else the default), naming it."""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from followups.models import Case, StaffProfile, Team
from followups.queries import cases_assigned_to
from followups.timezones import due_words, user_time_zone
from followups.workflow import case_start
from surveys.models import Response
from tests.followups.personas import MONDAY_10, Personas, assigned_case, personas_make

SHANGHAI, NEW_YORK = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
NOW = MONDAY_10 + timedelta(hours=1)
MINE = reverse("admin:followups_case_mine")
# First contact due at 12:15 in Beijing: 04:15 UTC, 23:15 the evening before in New York.
DUE = datetime(2026, 11, 23, 12, 15, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(db: Any) -> Personas:
    personas = personas_make()
    Team.objects.filter(pk=personas.team.pk).update(time_zone="Asia/Shanghai")
    return personas


@pytest.fixture
def case(people: Personas, detractor: Callable[..., Response]) -> Case:
    made = assigned_case(detractor)
    Case.objects.filter(pk=made.pk).update(sla_due_at=DUE)
    return made


def page_for(client: Client, user: Any, url: str) -> str:
    client.force_login(user)
    with translation.override("en"):
        return client.get(url).content.decode()


def test_the_rule_is_the_profile_then_the_team_then_the_default(people: Personas) -> None:
    Team.objects.filter(pk=people.other_team.pk).update(time_zone="Asia/Urumqi")
    assert user_time_zone(people.agent) == "Asia/Shanghai"  # Ann's team
    assert user_time_zone(people.other_lead) == "Asia/Urumqi"  # the team Leo leads
    with override_settings(NPS_DEFAULT_TIME_ZONE="Asia/Hong_Kong"):
        assert user_time_zone(people.supervisor) == "Asia/Hong_Kong"  # no team
    StaffProfile.objects.create(user=people.agent, time_zone="America/New_York")
    assert user_time_zone(people.agent) == "America/New_York"
    StaffProfile.objects.filter(user=people.agent).update(time_zone="")  # blank: the team's
    assert user_time_zone(people.agent) == "Asia/Shanghai"
    StaffProfile.objects.filter(user=people.agent).update(time_zone="Mars/Base")  # unknown
    assert user_time_zone(people.agent) == "Asia/Shanghai"


def test_a_beijing_agent_reads_the_due_time_in_shanghai_time_naming_the_zone(
    people: Personas, case: Case, client: Client
) -> None:
    mine = page_for(client, people.agent, MINE)
    assert "Nov. 23, 2026, 12:15 p.m. (Asia/Shanghai)" in mine
    assert "4:15 a.m." not in mine  # not the UTC time
    assert "due in 1 h 15 min" in mine
    page = page_for(client, people.agent, reverse("admin:followups_case_change", args=[case.pk]))
    assert "Nov. 23, 2026, 12:15 p.m. (Asia/Shanghai)" in page
    assert "At (Asia/Shanghai)" in page  # the history's times


def test_a_user_with_a_profile_zone_reads_times_in_it(
    people: Personas, case: Case, client: Client
) -> None:
    StaffProfile.objects.create(user=people.agent, time_zone="America/New_York")
    mine = page_for(client, people.agent, MINE)
    assert "Nov. 22, 2026, 11:15 p.m. (America/New_York)" in mine
    page = page_for(client, people.agent, reverse("admin:followups_case_change", args=[case.pk]))
    assert "Nov. 22, 2026, 11:15 p.m. (America/New_York)" in page
    lead_list = page_for(client, people.lead, reverse("admin:followups_case_changelist"))
    assert ">Due (Asia/Shanghai)<" in lead_list  # Lena: her team's zone
    assert "Times in Asia/Shanghai: change" in lead_list


def test_changing_ones_own_zone_applies_at_once(
    people: Personas, case: Case, client: Client
) -> None:
    client.force_login(people.agent)
    answer = client.post(reverse("admin:followups_case_time_zone"), {"time_zone": "Asia/Tokyo"})
    assert answer.url == MINE
    assert StaffProfile.objects.get(user=people.agent).time_zone == "Asia/Tokyo"
    assert "1:15 p.m. (Asia/Tokyo)" in client.get(MINE).content.decode()


@pytest.mark.parametrize(
    ("due_in", "held", "text", "urgency"),
    [
        (timedelta(hours=1, minutes=50), False, "due in 1 h 50 min", "later"),
        (timedelta(minutes=20), False, "due in 20 min", "soon"),
        (timedelta(minutes=-20), False, "overdue by 20 min", "overdue"),
        (timedelta(minutes=-20), True, "due 20 min ago, on hold", "held"),
    ],
)
def test_due_times_read_relatively_with_the_overdue_rule(
    people: Personas, case: Case, due_in: timedelta, held: bool, text: str, urgency: str
) -> None:
    case_start(case_id=case.pk, actor=people.agent)
    Case.objects.filter(pk=case.pk).update(
        sla_due_at=timezone.now() + due_in, held_since=timezone.now() if held else None
    )
    annotated = cases_assigned_to(people.agent).get(pk=case.pk)  # sla.due_at, sla.overdue
    with translation.override("en"):
        assert due_words(annotated, now=timezone.now()) == (text, urgency)


def test_every_admin_page_names_the_zone_its_times_are_in(
    people: Personas, case: Case, client: Client
) -> None:
    # In the header of every admin page, not only on the case pages.
    StaffProfile.objects.create(user=people.lead, time_zone="America/New_York")
    pages = (
        (people.agent, "Asia/Shanghai", "admin:index"),
        (people.lead, "America/New_York", "admin:followups_team_changelist"),
        (people.supervisor, "Asia/Shanghai", "admin:surveys_interaction_changelist"),
    )
    for user, zone, name in pages:
        page = page_for(client, user, reverse(name))
        assert f'<span id="time-zone-note">Times in {zone}</span>' in page, name
