from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from followups.cases import case_open
from followups.models import Case, Holiday, ServiceStandard, Team
from followups.sla import overdue, sla_due_times
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
    assert not in_breach.filter(overdue(case.sla_due_at)).exists()
    assert in_breach.filter(overdue(shanghai(2026, 11, 23, 11, 1))).exists()
    Case.objects.filter(pk=case.pk).update(first_contact_at=timezone.now())
    assert not in_breach.filter(overdue(shanghai(2026, 11, 24, 13, 0))).exists()
    assert in_breach.filter(overdue(datetime(2026, 11, 24, 5, 1, tzinfo=UTC))).exists()


@time_machine.travel(MONDAY_10, tick=False)
def test_a_team_with_invalid_hours_still_gets_cases_on_the_default_hours(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    Team.objects.filter(pk=office_team.pk).update(work_days=[])
    case = open_case(detractor, tier="A")
    assert case.sla_due_at == shanghai(2026, 11, 23, 11, 0)
    assert case.resolution_due_at == shanghai(2026, 11, 24, 10, 0)  # 08:00-20:00 every day


# ---------------------------------------------------------------- the team calendar


@time_machine.travel(shanghai(2026, 11, 27, 16, 0), tick=False)  # Friday afternoon
def test_a_case_opened_before_a_make_up_saturday_is_due_on_saturday(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    Holiday.objects.create(date=date(2026, 11, 28), name="调休", is_working_day=True)
    case = open_case(detractor, tier="A", score=5)  # P2: 4 hours to first contact
    assert case.sla_due_at == shanghai(2026, 11, 28, 11, 0)  # 2 hours Friday, 2 Saturday


@time_machine.travel(shanghai(2026, 11, 27, 16, 0), tick=False)
def test_a_make_up_day_keeps_its_own_hours_and_a_holiday_monday_is_skipped(
    detractor: Callable[..., Response], office_team: Team
) -> None:
    Holiday.objects.create(
        date=date(2026, 11, 28),
        name="调休",
        team=office_team,
        is_working_day=True,
        day_start=time(9, 0),
        day_end=time(12, 0),
    )
    Holiday.objects.create(date=date(2026, 11, 30), name="Holiday Monday")
    case = open_case(detractor, tier="B")  # P2: 8 hours to first contact
    # 2 hours Friday, 3 Saturday morning, Monday off, 3 on Tuesday.
    assert case.sla_due_at == shanghai(2026, 12, 1, 12, 0)


def test_the_teams_own_calendar_entry_wins_over_the_global_one(office_team: Team) -> None:
    saturday = date(2026, 11, 28)
    Holiday.objects.create(date=saturday, name="调休", is_working_day=True)
    Holiday.objects.create(date=saturday, name="Team outing", team=office_team)
    friday_17 = shanghai(2026, 11, 27, 17, 0)
    contact_due, _ = sla_due_times(priority="P2", tier="B", opened_at=friday_17, team=office_team)
    assert contact_due == shanghai(2026, 11, 30, 16, 0)  # Saturday stays closed for this team
    other = TeamFactory(
        regions=[],
        time_zone="Asia/Shanghai",
        work_days=[0, 1, 2, 3, 4],
        day_start=time(9, 0),
        day_end=time(18, 0),
    )
    contact_due, _ = sla_due_times(priority="P2", tier="B", opened_at=friday_17, team=other)
    assert contact_due == shanghai(2026, 11, 28, 16, 0)


def test_a_calendar_entry_has_hours_only_as_a_make_up_day(office_team: Team) -> None:
    holiday = Holiday(date=date(2026, 11, 30), name="Holiday", day_start=time(9, 0))
    with pytest.raises(ValidationError):
        holiday.full_clean()
    holiday.day_end = time(12, 0)
    with pytest.raises(ValidationError, match="Only a make-up working day has hours"):
        holiday.full_clean()
    holiday.is_working_day = True
    holiday.full_clean()


@pytest.fixture
def night_team() -> Team:
    """Monday to Friday nights, 20:00 to 08:00 the next morning, Shanghai time."""
    return TeamFactory(
        name="Nights",
        regions=["BJ"],
        time_zone="Asia/Shanghai",
        work_days=[0, 1, 2, 3, 4],
        day_start=time(20, 0),
        day_end=time(8, 0),
    )


def test_a_night_team_passes_validation_and_its_cases_are_due_across_midnight(
    detractor: Callable[..., Response], night_team: Team
) -> None:
    night_team.full_clean()
    with time_machine.travel(shanghai(2026, 11, 23, 23, 30), tick=False):  # Monday night
        case = open_case(detractor, tier="A")  # P1: 1 hour, 12 hours
    assert case.sla_due_at == shanghai(2026, 11, 24, 0, 30)
    # 8.5 hours until Tuesday 08:00, 3.5 from Tuesday 20:00.
    assert case.resolution_due_at == shanghai(2026, 11, 24, 23, 30)


def test_a_team_without_working_days_is_refused_by_validation(night_team: Team) -> None:
    night_team.work_days = []
    with pytest.raises(ValidationError):
        night_team.full_clean()


def test_a_24_hour_team_in_a_dst_zone_is_due_in_real_hours(
    detractor: Callable[..., Response],
) -> None:
    team = TeamFactory(
        regions=["BJ"],
        time_zone="Europe/London",
        work_days=[0, 1, 2, 3, 4, 5, 6],
        day_start=time(0, 0),
        day_end=time(0, 0),
    )
    team.full_clean()
    london = ZoneInfo("Europe/London")
    saturday_18 = datetime(2026, 3, 28, 18, 0, tzinfo=london)
    with time_machine.travel(saturday_18, tick=False):
        case = open_case(detractor, tier="A")  # P1: 1 hour, 12 hours
    assert case.sla_due_at == saturday_18 + timedelta(hours=1)
    # The clocks go forward that night: 12 real hours on are 07:00 on the clock, not 06:00.
    assert case.resolution_due_at == datetime(2026, 3, 29, 7, 0, tzinfo=london)


def test_the_team_admin_takes_a_night_team_and_a_make_up_saturday(admin_client: Client) -> None:
    form = {
        "name": "Nights",
        "regions": "BJ",
        "policy": "least_loaded",
        "time_zone": "Asia/Shanghai",
        "work_days": ["0", "1", "2", "3", "4"],
        "day_start": "20:00",
        "day_end": "08:00",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-0-date": "2026-11-28",
        "holidays-0-name": "调休",
        "holidays-0-is_working_day": "on",
        "holidays-0-day_start": "20:00",
        "holidays-0-day_end": "08:00",
        **{f"{prefix}-{k}": "0" for prefix in ("rules", "agents")
           for k in ("TOTAL_FORMS", "INITIAL_FORMS")},
    }  # fmt: skip
    page = admin_client.post("/admin/followups/team/add/", form)
    assert page.status_code == 302, page.context["errors"] if page.context else page
    team = Team.objects.get(name="Nights")
    assert (team.day_start, team.day_end) == (time(20, 0), time(8, 0))
    make_up = team.holidays.get()
    assert make_up.is_working_day
    assert make_up.day_start == time(20, 0)
    page = admin_client.get("/admin/followups/team/")
    assert "20:00–08:00 (+1)" in page.content.decode()
