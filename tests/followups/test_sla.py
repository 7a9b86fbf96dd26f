from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from pytest_django import Settings

from followups.cases import case_open
from followups.models import Case, Holiday, ServiceStandard, Team
from followups.sla import breached, sla_due_times
from surveys.models import Response
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture
def office_team() -> Team:
    """The team covering BJ: Monday to Friday, 09:00-18:00 Shanghai time."""
    return TeamFactory(
        name="North",
        regions=["BJ"],
        time_zone="Asia/Shanghai",
        work_days=[0, 1, 2, 3, 4],
        day_start=time(9, 0),
        day_end=time(18, 0),
    )


def open_case(detractor: Callable[..., Response], *, tier: str, score: int = 2) -> Case:
    response = detractor(score=score)
    response.customer.tier = tier
    response.customer.save(update_fields=["tier"])
    case = case_open(response=response)
    assert case is not None
    case.refresh_from_db()
    return case


@pytest.mark.parametrize(
    ("tier", "priority", "first_contact_due", "resolution_due"),
    [
        ("A", "P1", shanghai(2026, 11, 23, 11, 0), shanghai(2026, 11, 24, 13, 0)),
        ("B", "P2", shanghai(2026, 11, 23, 18, 0), shanghai(2026, 11, 30, 13, 0)),
        ("C", "P3", shanghai(2026, 11, 25, 16, 0), shanghai(2026, 12, 7, 16, 0)),
    ],
)
@time_machine.travel(MONDAY_10, tick=False)
def test_case_open_stores_both_due_times_in_the_routed_teams_business_hours(
    detractor: Callable[..., Response],
    office_team: Team,
    tier: str,
    priority: str,
    first_contact_due: datetime,
    resolution_due: datetime,
) -> None:
    case = open_case(detractor, tier=tier)
    assert case.priority == priority
    assert (case.sla_due_at, case.resolution_due_at) == (first_contact_due, resolution_due)


@time_machine.travel(shanghai(2026, 11, 28, 19, 30), tick=False)  # Saturday evening
def test_without_a_covering_team_the_default_hours_run_every_day_from_8_to_20(
    detractor: Callable[..., Response],
) -> None:
    case = open_case(detractor, tier="A")
    assert case.sla_due_at == shanghai(2026, 11, 29, 8, 30)  # 30 minutes Saturday, 30 Sunday
    assert case.resolution_due_at == shanghai(2026, 11, 29, 19, 30)


@time_machine.travel(MONDAY_10, tick=False)
def test_the_teams_own_and_global_holidays_stop_the_clock(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    Holiday.objects.create(date=date(2026, 11, 24), name="Team day", team=office_team)
    Holiday.objects.create(date=date(2026, 11, 25), name="National day")
    case = open_case(detractor, tier="A")
    assert case.resolution_due_at == shanghai(2026, 11, 26, 13, 0)  # Tuesday, Wednesday off


def test_another_teams_holiday_does_not_stop_the_clock(office_team: Team) -> None:
    Holiday.objects.create(date=date(2026, 11, 24), name="Elsewhere", team=TeamFactory())
    first_contact, resolution = sla_due_times(
        priority="P1", tier="A", opened_at=MONDAY_10, team=office_team
    )
    assert (first_contact, resolution) == (
        shanghai(2026, 11, 23, 11, 0),
        shanghai(2026, 11, 24, 13, 0),
    )


def test_without_a_service_standard_due_times_follow_the_settings_with_tier_a_at_half(
    office_team: Team, settings: Settings
) -> None:
    ServiceStandard.objects.all().delete()
    settings.NPS_SLA_TARGETS = {"P1": {"first_contact": 1, "resolution": 3}}
    assert sla_due_times(priority="P1", tier="B", opened_at=MONDAY_10, team=office_team) == (
        shanghai(2026, 11, 23, 11, 0),
        shanghai(2026, 11, 23, 13, 0),
    )
    assert sla_due_times(priority="P1", tier="A", opened_at=MONDAY_10, team=office_team) == (
        shanghai(2026, 11, 23, 10, 30),
        shanghai(2026, 11, 23, 11, 30),
    )


@time_machine.travel(MONDAY_10, tick=False)
def test_a_case_is_in_breach_only_after_a_due_time_has_passed(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    case = open_case(detractor, tier="A")
    in_breach = Case.objects.filter(pk=case.pk)
    assert not in_breach.filter(breached(case.sla_due_at)).exists()
    assert in_breach.filter(breached(shanghai(2026, 11, 23, 11, 1))).exists()
    Case.objects.filter(pk=case.pk).update(first_contact_at=timezone.now())
    assert not in_breach.filter(breached(shanghai(2026, 11, 24, 13, 0))).exists()
    assert in_breach.filter(breached(datetime(2026, 11, 24, 5, 1, tzinfo=UTC))).exists()


@time_machine.travel(MONDAY_10, tick=False)
def test_a_team_with_invalid_hours_still_gets_cases_on_the_default_hours(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    Team.objects.filter(pk=office_team.pk).update(work_days=[])
    case = open_case(detractor, tier="A")
    assert case.sla_due_at == shanghai(2026, 11, 23, 11, 0)
    assert case.resolution_due_at == shanghai(2026, 11, 24, 10, 0)  # 08:00-20:00 every day
