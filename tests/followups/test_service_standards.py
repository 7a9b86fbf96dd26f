from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from followups.cases import case_open, case_priority
from followups.models import Case, ServiceStandard, Team
from followups.sla import sla_due_times
from surveys.models import Response
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def office_team() -> Team:
    return TeamFactory(
        regions=["BJ"],
        time_zone="Asia/Shanghai",
        work_days=[0, 1, 2, 3, 4],
        day_start=time(9, 0),
        day_end=time(18, 0),
    )


def standard(tier: str, priority: str) -> ServiceStandard:
    return ServiceStandard.objects.get(tier=tier, priority=priority)


def targets() -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {
        (s.tier, s.priority): (s.first_contact_hours, s.resolution_hours)
        for s in ServiceStandard.objects.all()
    }


def test_the_defaults_are_the_settings_targets_with_tier_a_in_half_the_time() -> None:
    h = Decimal
    assert targets() == {
        ("A", "P1"): (h(1), h(12)),
        ("B", "P1"): (h(2), h(24)),
        ("C", "P1"): (h(2), h(24)),
        ("A", "P2"): (h(4), h(24)),
        ("B", "P2"): (h(8), h(48)),
        ("C", "P2"): (h(8), h(48)),
        ("A", "P3"): (h(12), h(48)),
        ("B", "P3"): (h(24), h(96)),
        ("C", "P3"): (h(24), h(96)),
    }


@pytest.mark.parametrize("score", range(7))
def test_a_tier_a_detractor_is_never_due_later_than_a_tier_c_one_with_the_same_score(
    office_team: Team, score: int
) -> None:
    def due(tier: str) -> tuple[datetime, datetime]:
        priority = case_priority(tier=tier, score=score)
        return sla_due_times(priority=priority, tier=tier, opened_at=MONDAY_10, team=office_team)

    a, b, c = due("A"), due("B"), due("C")
    assert a[0] <= b[0] <= c[0]
    assert a[1] <= b[1] <= c[1]
    assert a < c  # tighter, not only equal


def test_a_higher_tier_is_refused_more_time_than_a_lower_one_at_the_same_priority() -> None:
    a_p2 = standard("A", "P2")
    a_p2.first_contact_hours = Decimal(9)  # B P2 has 8
    with pytest.raises(ValidationError) as refused:
        a_p2.full_clean()
    assert "first_contact_hours" in refused.value.message_dict
    c_p2 = standard("C", "P2")
    c_p2.resolution_hours = Decimal(47)  # B P2 has 48
    with pytest.raises(ValidationError) as refused:
        c_p2.full_clean()
    assert "resolution_hours" in refused.value.message_dict


def test_a_more_urgent_priority_is_refused_more_time_within_a_tier() -> None:
    c_p1 = standard("C", "P1")
    c_p1.first_contact_hours = Decimal(10)  # C P2 has 8
    with pytest.raises(ValidationError):
        c_p1.full_clean()


def test_a_target_within_its_neighbours_is_accepted() -> None:
    b_p3 = standard("B", "P3")
    b_p3.first_contact_hours, b_p3.resolution_hours = Decimal(16), Decimal(72)
    b_p3.full_clean()


@time_machine.travel(MONDAY_10, tick=False)
def test_the_due_time_follows_a_standard_edited_in_the_admin(
    admin_client: Client, office_team: Team, detractor: Callable[..., Response]
) -> None:
    c_p3 = standard("C", "P3")
    url = f"/admin/followups/servicestandard/{c_p3.pk}/change/"
    page = admin_client.post(url, {"first_contact_hours": "20", "resolution_hours": "96"})
    assert page.status_code == 200
    assert "cannot allow more time" in page.content.decode()  # B P3 has 24: C never less
    page = admin_client.post(url, {"first_contact_hours": "30", "resolution_hours": "96"})
    assert page.status_code == 302
    response = detractor(score=5)
    response.customer.tier = "C"  # P3
    response.customer.save(update_fields=["tier"])
    case = case_open(response=response)
    assert isinstance(case, Case)
    case.refresh_from_db()
    # 30 business hours from Monday 10:00 in 09:00-18:00: 8 + 9 + 9, and 4 on Thursday.
    assert case.sla_due_at == datetime(2026, 11, 26, 13, 0, tzinfo=SHANGHAI)


def test_the_standards_grid_is_edited_not_added_to_or_deleted(admin_client: Client) -> None:
    assert admin_client.get("/admin/followups/servicestandard/").status_code == 200
    assert admin_client.get("/admin/followups/servicestandard/add/").status_code == 403
    pk = standard("A", "P1").pk
    assert admin_client.get(f"/admin/followups/servicestandard/{pk}/delete/").status_code == 403
