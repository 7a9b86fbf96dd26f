"""A small organisation with answers and cases, its rollups refreshed, for the scorecards.

Province P has cities A, B and C; A has a store A1 (A's figures include A1's). Owners:
Olga owns A, Oscar owns B; Ann is an agent; Sue a supervisor (tests/followups/personas).
The answers and cases below are counted by hand in the tests.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from followups.models import Case
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import Interaction, ReasonCategory, Response, Unit, UnitKind
from tests.followups.personas import Personas, personas_make
from tests.reporting.test_rollups import case_create, local_day, response_create

AT = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, 10 March 2026
DAY = local_day(AT)


@dataclass
class World:
    people: Personas
    province: Unit
    a: Unit
    a1: Unit
    b: Unit
    c: Unit
    owner_a: User
    owner_b: User


def answer(
    unit: Unit, score: int, *, staff_id: str = "", reasons: tuple[str, ...] = ()
) -> Response:
    response = response_create(at=AT, score=score, staff_id=staff_id, reasons=reasons)
    Interaction.objects.filter(pk=response.interaction_id).update(unit=unit)
    response.refresh_from_db()
    return response


def case(
    unit: Unit,
    *,
    contact_after: int | None,
    resolve_after: int | None = None,
    verification: int | None = None,
    recovered: bool | None = None,
) -> Case:
    c = case_create(answer(unit, 2), contact_after=contact_after, sla_minutes=120)
    fields: dict[str, Any] = {
        "unit": unit,
        "verification_score": verification,
        "recovered": recovered,
    }
    if resolve_after is not None:
        fields["resolved_at"] = AT + timedelta(minutes=resolve_after)
    Case.objects.filter(pk=c.pk).update(**fields)
    return c


def owner(name: str, unit: Unit) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    unit.owners.add(user)
    return user


def units_make() -> tuple[Unit, Unit, Unit, Unit, Unit]:
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    a = Unit.objects.create(name="City A", kind=UnitKind.CITY, parent=province)
    a1 = Unit.objects.create(name="Store A1", kind=UnitKind.STORE, parent=a)
    b = Unit.objects.create(name="City B", kind=UnitKind.CITY, parent=province)
    c = Unit.objects.create(name="City C", kind=UnitKind.CITY, parent=province)
    return province, a, a1, b, c


def world_make() -> World:
    """Answers: A1 6 promoters, 2 passives, 2 detractors (staff E1; the detractors say
    "network"), A 1 detractor (E2); B 1 promoter (E3). Cases, each opened from one more
    detractor answer in A1 (no staff id): four, first contacted after 5, 5, 5 and 200 minutes (SLA
    120), two resolved after 30 and 90 minutes, three verified of which two recovered."""
    people = personas_make()
    province, a, a1, b, c = units_make()
    ReasonCategory.objects.get_or_create(
        code="network", defaults={"name_en": "Network", "name_zh": "网络"}
    )
    for score in (10, 10, 9, 9, 10, 9, 7, 8):
        answer(a1, score, staff_id="E1")
    for _i in range(2):
        answer(a1, 1, staff_id="E1", reasons=("network",))
    answer(a, 0, staff_id="E2")
    answer(b, 10, staff_id="E3")
    case(a1, contact_after=5, resolve_after=30, verification=9, recovered=True)
    case(a1, contact_after=5, resolve_after=90, verification=10, recovered=True)
    case(a1, contact_after=5, verification=3, recovered=False)
    case(a1, contact_after=200)
    rollups_refresh_day(day=DAY)
    return World(people, province, a, a1, b, c, owner("olga", a), owner("oscar", b))
