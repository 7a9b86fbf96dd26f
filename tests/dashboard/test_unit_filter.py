"""The dashboard's unit filter: a unit means it and every unit under it, on the rollups as on
the raw rows. Expected figures are counted from the rows created here, never from rollups."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from followups.models import Case
from nps.reporting.contract import Filters
from nps.reporting.queries import closed_loop, detractor_answers, funnel, nps_counts, unit_filter
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import Category, Interaction, Unit, UnitKind
from tests.dashboard.builders import client_for
from tests.followups.personas import personas_make
from tests.reporting.test_rollups import case_create, response_create

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # noon in Shanghai
# Scores per store: two stores in Lhasa, one in Shigatse.
SCORES = {
    "Store 1": [10, 10, 9, 3, 0],
    "Store 2": [8, 7, 7, 10],
    "Shigatse store": [10, 10, 10, 1],
}


def tree() -> dict[str, Unit]:
    province = Unit.objects.create(name="Tibet", kind=UnitKind.PROVINCE)
    lhasa = Unit.objects.create(name="Lhasa", kind=UnitKind.CITY, parent=province)
    shigatse = Unit.objects.create(name="Shigatse", kind=UnitKind.CITY, parent=province)
    units = {"Tibet": province, "Lhasa": lhasa, "Shigatse": shigatse}
    units["Store 1"] = Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=lhasa)
    units["Store 2"] = Unit.objects.create(name="Store 2", kind=UnitKind.STORE, parent=lhasa)
    units["Shigatse store"] = Unit.objects.create(
        name="Shigatse store", kind=UnitKind.STORE, parent=shigatse
    )
    return units


def answers(units: dict[str, Unit]) -> None:
    """Each store's answers, a case per detractor; one Store 1 case moved to Shigatse."""
    for store, scores in SCORES.items():
        for score in scores:
            response = response_create(at=AT, score=score, region="XZ")
            Interaction.objects.filter(pk=response.interaction_id).update(unit=units[store])
            if Category.for_score(score) == Category.DETRACTOR:
                case_create(response, contact_after=10)
    moved = Case.objects.filter(response__interaction__unit=units["Store 1"]).first()
    assert moved is not None
    Case.objects.filter(pk=moved.pk).update(unit=units["Shigatse"])
    # Unattributed answers count for no unit.
    response_create(at=AT, score=0, region="XZ")
    rollups_rebuild()


def by_hand(stores: list[str]) -> dict[str, int]:
    scores = [s for store in stores for s in SCORES[store]]
    return {c: sum(Category.for_score(s) == c for s in scores) for c in Category.values}


def test_a_city_is_the_sum_of_its_stores() -> None:
    units = tree()
    answers(units)
    lhasa = Filters(DAY, DAY, units=unit_filter(units["Lhasa"].pk))
    counts = nps_counts(lhasa)
    expected = by_hand(["Store 1", "Store 2"])
    assert (counts.promoters, counts.passives, counts.detractors) == (
        expected["promoter"],
        expected["passive"],
        expected["detractor"],
    )
    assert funnel(lhasa).interactions == len(SCORES["Store 1"]) + len(SCORES["Store 2"])
    each = [nps_counts(Filters(DAY, DAY, units=unit_filter(units[s].pk))) for s in SCORES]
    whole = nps_counts(Filters(DAY, DAY, units=unit_filter(units["Tibet"].pk)))
    assert whole.n == sum(c.n for c in each) == sum(len(s) for s in SCORES.values())


def test_cases_count_in_their_own_unit_else_the_unit_that_served() -> None:
    units = tree()
    answers(units)
    # Store 1 has two detractors, one case moved to Shigatse; Store 2 none; Shigatse one.
    lhasa = Filters(DAY, DAY, units=unit_filter(units["Lhasa"].pk))
    shigatse = Filters(DAY, DAY, units=unit_filter(units["Shigatse"].pk))
    assert (closed_loop(lhasa).opened, closed_loop(shigatse).opened) == (1, 2)
    # The live counts read raw cases with the same rule.
    assert (closed_loop(lhasa).open_now, closed_loop(shigatse).open_now) == (1, 2)


def test_the_detractor_answers_follow_the_unit_that_served() -> None:
    units = tree()
    answers(units)
    lhasa = Filters(DAY, DAY, units=unit_filter(units["Lhasa"].pk))
    found = set(detractor_answers(lhasa).values_list("interaction__unit__name", flat=True))
    assert found == {"Store 1"}
    assert detractor_answers(lhasa).count() == by_hand(["Store 1", "Store 2"])["detractor"]


def test_the_page_filters_by_unit_and_offers_active_units_indented(client: Any) -> None:
    units = tree()
    Unit.objects.create(name="Closed store", kind=UnitKind.STORE, parent=units["Lhasa"],
                        is_active=False)  # fmt: skip
    answers(units)
    supervisor = personas_make().supervisor
    page = client_for(supervisor).get(
        "/dashboard/", {"start": "2026-03-02", "end": "2026-03-02", "unit": str(units["Lhasa"].pk)}
    )
    html = page.content.decode()
    assert page.status_code == 200
    n = len(SCORES["Store 1"]) + len(SCORES["Store 2"])
    assert f'data-figure="responses" data-value="{n}"' in html
    assert "\u00a0\u00a0\u00a0\u00a0Store 1</option>" in html  # two levels down
    assert "Closed store" not in html
    assert f'<option value="{units["Lhasa"].pk}" selected>\u00a0\u00a0Lhasa</option>' in html
