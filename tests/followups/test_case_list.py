"""The lead's and supervisor's case list: due time first, filters within their scope."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.models import Case
from surveys.models import Response
from tests.followups.personas import Personas, assigned_case, personas_make

LIST = reverse("admin:followups_case_changelist")


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def cases(people: Personas, detractor: Callable[..., Response]) -> dict[str, Case]:
    """Two North (BJ) cases, the later opened due first, and one South (SH) case."""
    made = {
        "north_late": assigned_case(detractor, phone="+8613900000011", region="BJ"),
        "north_soon": assigned_case(detractor, phone="+8613900000012", region="BJ"),
        "south": assigned_case(detractor, phone="+8613900000013", region="SH"),
    }
    for name, hours in (("north_late", 5), ("north_soon", 1), ("south", 3)):
        Case.objects.filter(pk=made[name].pk).update(
            sla_due_at=timezone.now() + timedelta(hours=hours)
        )
    return made


def choices(page: Any, title: str) -> set[str]:
    spec = next(s for s in page.context["cl"].filter_specs if str(s.title) == title)
    return {str(c["display"]) for c in spec.choices(page.context["cl"])} - {"All", "-"}


def test_the_list_is_ordered_by_due_time(
    people: Personas, client: Client, cases: dict[str, Case]
) -> None:
    client.force_login(people.supervisor)
    rows = [case.pk for case in client.get(LIST).context["cl"].result_list]
    assert rows == [cases["north_soon"].pk, cases["south"].pk, cases["north_late"].pk]


def test_a_leads_filters_offer_only_her_teams_agents_and_regions(
    people: Personas, client: Client, cases: dict[str, Case]
) -> None:
    client.force_login(people.lead)
    page = client.get(LIST)
    assert choices(page, "team") == {"North"}
    assert choices(page, "callback agent") == {"Ann"}
    assert choices(page, "region") == {"BJ"}
    client.force_login(people.supervisor)
    page = client.get(LIST)
    assert choices(page, "team") == {"North", "South"}
    assert choices(page, "callback agent") == {"Ann", "Bob"}
    assert choices(page, "region") == {"BJ", "SH"}


def test_overdue_cases_are_marked_in_words(
    people: Personas, client: Client, cases: dict[str, Case]
) -> None:
    Case.objects.filter(pk=cases["south"].pk).update(
        sla_due_at=timezone.now() - timedelta(minutes=20)
    )
    client.force_login(people.supervisor)
    html = client.get(LIST).content.decode()
    assert html.count(">Overdue</span>") == 1
    assert "overdue by 20 min" in html
