"""The dashboard's reads answer from whichever grain they pick exactly what the raw rows say."""

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from followups.models import RoutingRule, Team
from followups.routing import team_for_response
from nps.reporting import queries
from nps.reporting.contract import Counts, Filters
from nps.reporting.grains import FULL, GRAINS, grain_for, parent_of
from nps.reporting.rebuild import rollups_rebuild
from surveys.models import Response
from tests.reporting.test_rollups import BASE, local_day, response_create

REGIONS = ("BJ", "SH", "GZ")
TOUCHPOINTS = ("hotline", "store_own", "online")


@pytest.fixture
def dataset(db: Any) -> Any:
    """60 answers over 4 local days, across regions, tiers, touchpoints, channels, agents.

    Built once per test; hypothesis's examples only read it.
    """
    north = Team.objects.create(name="North", regions=["BJ"])
    south = Team.objects.create(name="South", regions=["SH", "GZ"])
    vip = Team.objects.create(name="VIP", regions=[], is_default_route=True)
    RoutingRule.objects.create(order=1, tier="A", touchpoint="hotline", team=vip)
    for i in range(60):
        response_create(
            at=BASE + timedelta(hours=7 * i),
            score=(i * 7) % 11,
            region=REGIONS[i % 3],
            tier="ABC"[(i // 3) % 3],
            touchpoint=TOUCHPOINTS[(i // 2) % 3],
            channel=("app", "sms")[i % 2],
            business_type=("billing", "network")[(i // 5) % 2],
            staff_id=f"E{i % 4}",
            reasons=("network",) if (i * 7) % 11 <= 6 else (),
            comment="慢" if (i * 7) % 11 <= 6 else "",
        )
    rollups_rebuild()
    return {"teams": (north, south, vip)}


def raw(f: Filters) -> list[Response]:
    """The period's survey answers that match every filter, judged row by row in Python."""
    found = []
    for r in Response.objects.select_related("customer", "interaction"):
        team = team_for_response(r)
        team_id = team.pk if team else 0
        facts = {
            "touchpoint": r.interaction.touchpoint,
            "channel": r.interaction.channel,
            "business_type": r.interaction.business_type,
            "region": r.customer.region,
            "tier": r.customer.tier,
            "agent": r.interaction.staff_id,
        }
        if not f.start <= local_day(r.created_at) <= f.end:
            continue
        if any(getattr(f, name) and getattr(f, name) != value for name, value in facts.items()):
            continue
        if f.team_id is not None and team_id != f.team_id:
            continue
        if f.team_scope is not None and team_id not in f.team_scope:
            continue
        found.append(r)
    return found


def counts_of(rows: list[Response]) -> Counts:
    n = Counter(r.category for r in rows)
    return Counts(n["promoter"], n["passive"], n["detractor"])


FIRST = local_day(BASE)
FILTERS = st.fixed_dictionaries(
    {
        "start": st.integers(0, 3),
        "days": st.integers(0, 3),
        "touchpoint": st.sampled_from(["", *TOUCHPOINTS]),
        "channel": st.sampled_from(["", "app", "sms"]),
        "business_type": st.sampled_from(["", "billing"]),
        "region": st.sampled_from(["", *REGIONS]),
        "tier": st.sampled_from(["", "A", "B"]),
        "agent": st.sampled_from(["", "E1"]),
        "team": st.sampled_from([None, 0, 1, 2]),
        "scope": st.sampled_from([None, (0,), (1, 2)]),
    }
)


def filters_from(drawn: dict[str, Any], teams: tuple[Team, ...]) -> Filters:
    start = FIRST + timedelta(days=drawn["start"])
    team = drawn["team"]
    scope = drawn["scope"]
    return Filters(
        start=start,
        end=start + timedelta(days=drawn["days"]),
        touchpoint=drawn["touchpoint"],
        channel=drawn["channel"],
        business_type=drawn["business_type"],
        region=drawn["region"],
        tier=drawn["tier"],
        agent=drawn["agent"],
        team_id=None if team is None else teams[team].pk,
        team_scope=None if scope is None else tuple(teams[i].pk for i in scope),
    )


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=FILTERS, dimension=st.sampled_from(["touchpoint", "region", "team", "agent"]))
def test_counts_and_breakdowns_equal_the_raw_rows_for_any_filters(
    dataset: Any, drawn: dict[str, Any], dimension: str
) -> None:
    f = filters_from(drawn, dataset["teams"])
    rows = raw(f)

    assert queries.nps_counts(f) == counts_of(rows)
    by: dict[str, list[Response]] = {}
    for r in rows:
        if dimension == "team":
            team = team_for_response(r)
            value = str(team.pk) if team else ""
        elif dimension == "region":
            value = r.customer.region
        elif dimension == "agent":
            value = r.interaction.staff_id
        else:
            value = r.interaction.touchpoint
        by.setdefault(value, []).append(r)
    found = dict(queries.nps_breakdown(f, dimension=dimension))
    assert found == {value: counts_of(group) for value, group in by.items()}
    detractors = [r for r in rows if r.category == "detractor"]
    pareto = queries.reasons_pareto(f)
    assert sum(r.detractors for r in pareto) == len(detractors)
    assert {v.pk for v in queries.verbatims(f)} == {r.pk for r in detractors}


def test_a_read_uses_a_small_grain_when_one_holds_its_dimensions() -> None:
    f = Filters(start=date(2026, 3, 1), end=date(2026, 3, 2), region="BJ", tier="A")
    assert queries.needed_dimensions(f, "touchpoint") == {"region", "tier", "touchpoint"}
    assert grain_for(frozenset({"region", "tier", "touchpoint"})) != FULL
    assert grain_for(frozenset()) == 0  # day totals
    # Three filters and a breakdown: only the finest grain holds them all.
    assert grain_for(frozenset({"region", "tier", "channel", "touchpoint"})) == FULL
    assert grain_for(frozenset({"agent", "region"})) != FULL


def test_every_coarser_grain_is_built_from_a_finer_stored_grain() -> None:
    for grain in GRAINS:
        if grain != FULL:
            parent = parent_of(grain)
            assert parent in GRAINS
            assert parent & grain == grain
            assert parent != grain
