"""The scorecard pages: who sees which units and staff, the table, ties and the CSV."""

import csv
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nps.models import Target, TargetMetric
from nps.targets import target_value_error, targets_split
from surveys.models import Unit, UnitKind
from tests.followups.personas import personas_make
from tests.nps.scorecard_world import DAY, World, world_make

PERIOD = f"month={DAY:%Y-%m}&part=early"  # 1-10 March 2026 holds the world's day


@pytest.fixture
def world(db: Any, settings: Any) -> World:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 2
    return world_make()


def get(user: Any, url: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_supervisor_sees_the_province_and_its_cities(world: World) -> None:
    page = get(world.people.supervisor, f"/scorecards/?{PERIOD}")
    assert page.status_code == 200
    units = page.context["rows"]
    assert [r["name"] for r in units] == ["City A", "City B", "City C"]
    assert page.context["parent"]["name"] == "Province"
    assert f'data-unit="{world.a.pk}"' in page.content.decode()


def test_owner_of_a_parent_sees_its_children(world: World) -> None:
    page = get(world.owner_a, f"/scorecards/?{PERIOD}")
    assert page.status_code == 200
    assert page.context["parent"]["name"] == "City A"
    assert [r["name"] for r in page.context["rows"]] == ["Store A1"]


def test_owner_of_another_unit_cannot_open_it(world: World) -> None:
    page = get(world.owner_b, f"/scorecards/?unit={world.a.pk}&{PERIOD}")
    assert page.status_code == 200
    assert page.context["parent"]["name"] == "City B"  # the asked unit is not offered
    assert "City A" not in page.content.decode()


def test_an_agent_gets_403(world: World) -> None:
    assert get(world.people.agent, "/scorecards/").status_code == 403
    assert get(world.people.agent, "/scorecards/staff/").status_code == 403


def test_the_table_shows_figures_targets_and_verdicts(world: World) -> None:
    Target.objects.create(
        unit=world.a,
        metric=TargetMetric.NPS,
        value=50,
        period_start=DAY.replace(day=1),
        period_end=DAY.replace(day=10),
    )
    page = get(world.people.supervisor, f"/scorecards/?{PERIOD}")
    a = next(r for r in page.context["rows"] if r["name"] == "City A")
    nps = a["cells"][0]
    assert nps["r"].value == pytest.approx(100 * (6 - 7) / 15)
    assert nps["r"].target == 50
    assert nps["state"] == "missed"  # -6.7 ± 40 is wholly below 50
    assert "missed" in page.content.decode()


def test_sorting_by_a_metric_orders_by_rank_with_ties_and_too_few_last(
    world: World, settings: Any
) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 1
    page = get(world.people.supervisor, f"/scorecards/?{PERIOD}&sort=nps")
    # B's one promoter (100, 26.5..100) and A (-6.7, -48.1..34.7) overlap: tied first, the
    # better value first; C has no answers: last, unranked.
    names = [r["name"] for r in page.context["rows"]]
    assert names == ["City B", "City A", "City C"]
    assert [r["cells"][0]["rank"] for r in page.context["rows"]] == ["=1", "=1", ""]
    assert '<span class="rank">=1</span>' in page.content.decode()


def test_csv_has_a_row_per_unit_and_metric(world: World) -> None:
    answer = get(world.people.supervisor, f"/scorecards/?{PERIOD}&export=csv")
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Unit"
    assert len(rows) == 1 + 4 * 5  # the province and its three cities, five metrics each
    a_sla = next(r for r in rows if r[0] == "City A" and r[1] == "first_contact_sla")
    assert a_sla[2:6] == ["75.0", "30.1", "95.4", "4"]


def test_staff_scorecard_shows_the_units_staff_to_its_owner(world: World) -> None:
    page = get(world.owner_a, f"/scorecards/staff/?unit={world.a.pk}&{PERIOD}")
    assert page.status_code == 200
    rows = {r.staff_id: r for r in page.context["rows"]}
    assert set(rows) == {"E1", "E2"}  # not B's E3
    e1 = rows["E1"]
    assert (e1.estimate.n, e1.estimate.nps) == (10, 40.0)  # 6 - 2 of 10
    assert [(r.code, r.detractors) for r in e1.reasons] == [("network", 2)]


def test_staff_scorecard_of_another_unit_is_not_shown_to_its_peer_owner(world: World) -> None:
    page = get(world.owner_b, f"/scorecards/staff/?unit={world.a.pk}&{PERIOD}")
    assert {r.staff_id for r in page.context["rows"]} == {"E3"}  # their own unit instead
    # Not in any text of the page (a CSRF token's random letters may hold "E1").
    texts = re.findall(r">([^<]*)<", page.content.decode())
    assert not [text for text in texts if re.search(r"\bE1\b", text)]


def test_supervisor_sees_every_staff_member_under_the_province(world: World) -> None:
    page = get(world.people.supervisor, f"/scorecards/staff/?unit={world.province.pk}&{PERIOD}")
    assert {r.staff_id for r in page.context["rows"]} == {"E1", "E2", "E3"}


def test_a_team_lead_without_units_gets_403_on_the_staff_scorecard(world: World) -> None:
    assert get(world.people.lead, "/scorecards/staff/").status_code == 403


def test_target_values_are_checked_against_their_metric() -> None:
    assert target_value_error(TargetMetric.NPS, 101) is not None
    assert target_value_error(TargetMetric.NPS, -100) is None
    assert target_value_error(TargetMetric.RECOVERY_RATE, 100.5) is not None
    assert target_value_error(TargetMetric.RESOLUTION_HOURS, 0) is not None
    assert target_value_error(TargetMetric.RESOLUTION_HOURS, 0.5) is None


def test_splitting_a_target_copies_it_to_the_children_and_keeps_theirs(world: World) -> None:
    first, last = DAY.replace(day=1), DAY.replace(day=31)
    top = Target.objects.create(
        unit=world.province, metric=TargetMetric.NPS, value=30, period_start=first, period_end=last
    )
    Target.objects.create(
        unit=world.b, metric=TargetMetric.NPS, value=45, period_start=first, period_end=last
    )
    assert targets_split(target_ids=[top.pk]) == (2, 1)
    values = dict(Target.objects.filter(metric="nps").values_list("unit__name", "value"))
    assert values == {"Province": 30, "City A": 30, "City B": 45, "City C": 30}


def test_the_admin_splits_targets_and_rejects_an_nps_above_100(world: World) -> None:
    client = Client()
    client.force_login(world.people.supervisor)
    world.people.supervisor.is_superuser = True
    world.people.supervisor.save()
    answer = client.post(
        "/admin/nps/target/add/",
        {
            "unit": world.a.pk,
            "metric": "nps",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "value": "120",
        },
    )
    assert answer.status_code == 200
    assert "between -100 and 100" in answer.content.decode()
    top = Target.objects.create(
        unit=world.a, metric="nps", value=20, period_start=DAY, period_end=DAY
    )
    client.post("/admin/nps/target/", {"action": "split_to_children", "_selected_action": [top.pk]})
    assert Target.objects.filter(unit=world.a1, metric="nps", value=20).exists()


def test_a_supervisor_sees_a_word_on_units_before_any_exists(db: Any) -> None:
    people = personas_make()
    page = get(people.supervisor, "/scorecards/")
    assert page.status_code == 200
    assert 'data-empty="units"' in page.content.decode()
    assert get(people.supervisor, "/scorecards/staff/").status_code == 200
    assert get(people.lead, "/scorecards/").status_code == 403


def test_the_page_costs_the_same_queries_however_many_units_it_shows(world: World) -> None:
    client = Client()
    client.force_login(world.people.supervisor)
    url = f"/scorecards/?unit={world.province.pk}&{PERIOD}"
    with CaptureQueriesContext(connection) as three:
        assert client.get(url).status_code == 200
    for name in ("City D", "City E", "City F"):
        Unit.objects.create(name=name, kind=UnitKind.CITY, parent=world.province)
    with CaptureQueriesContext(connection) as six:
        answer = client.get(url)
    assert len(answer.context["rows"]) == 6
    assert len(six) == len(three)


def test_the_units_offered_are_indented_from_the_top_of_each_scope(world: World) -> None:
    from nps.scorecards_views import units_offered

    ids = dict(Unit.objects.values_list("name", "pk"))
    everything = units_offered(None)
    assert [label for _, label in everything] == [
        "Province", "\u2003City A", "\u2003\u2003Store A1", "\u2003City B", "\u2003City C",
    ]  # fmt: skip
    # Two subtrees of a scope, each from its own top, in the tree's order.
    scoped = units_offered([ids["City A"], ids["Store A1"], ids["City C"]])
    assert scoped == [
        (ids["City A"], "City A"), (ids["Store A1"], "\u2003Store A1"), (ids["City C"], "City C"),
    ]  # fmt: skip
