import itertools
from collections.abc import Callable
from typing import Any

import factory
import pytest
from django.db import IntegrityError, transaction

from followups.assignment import case_assign, cases_assign_waiting
from followups.cases import case_open
from followups.models import Case, RoutingRule, Team
from followups.queries import unrouted
from followups.routing import route, team_for_case
from surveys.models import Customer, Interaction, Response
from tests.factories import AgentFactory, TeamFactory

HOTLINE_B_BJ = {"region": "BJ", "tier": "B", "touchpoint": "hotline"}


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    team = factory.SubFactory(TeamFactory)


def rule(team_id: int, **conditions: Any) -> RoutingRule:
    """An unsaved rule: the pure routing function needs no database."""
    return RoutingRule(team_id=team_id, **conditions)


def team(pk: int, *regions: str, default: bool = False) -> Team:
    return Team(pk=pk, name=f"Team {pk}", regions=list(regions), is_default_route=default)


@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ({"region": "BJ"}, {"region": "BJ"}, {"region": "SH"}),
        ({"tier": "A"}, {"tier": "A"}, {"tier": "B"}),
        ({"touchpoint": "store_own"}, {"touchpoint": "store_own"}, {"touchpoint": "hotline"}),
    ],
)
def test_each_condition_of_a_rule_must_hold(
    condition: dict[str, str], matching: dict[str, str], other: dict[str, str]
) -> None:
    rules = [rule(7, **condition)]
    assert route(rules, [], **(HOTLINE_B_BJ | matching)) == 7
    assert route(rules, [], **(HOTLINE_B_BJ | other)) is None


def test_a_rule_with_several_conditions_needs_all_of_them() -> None:
    rules = [rule(7, region="BJ", tier="A", touchpoint="account_manager")]
    facts = {"region": "BJ", "tier": "A", "touchpoint": "account_manager"}
    assert route(rules, [], **facts) == 7
    for wrong in ({"region": "SH"}, {"tier": "B"}, {"touchpoint": "hotline"}):
        assert route(rules, [], **(facts | wrong)) is None


def test_a_rule_without_conditions_matches_every_case() -> None:
    assert route([rule(7)], [], region="", tier="C", touchpoint="online") == 7


def test_the_first_matching_rule_in_order_wins() -> None:
    rules = [rule(1, region="SH"), rule(2, tier="B"), rule(3, region="BJ")]
    assert route(rules, [], **HOTLINE_B_BJ) == 2


def test_an_inactive_rule_is_skipped() -> None:
    rules = [rule(1, region="BJ", is_active=False), rule(2, region="BJ")]
    assert route(rules, [], **HOTLINE_B_BJ) == 2


def test_without_a_matching_rule_the_team_naming_the_region_takes_the_case() -> None:
    teams = [team(1), team(2, "SH"), team(3, "BJ", "TJ")]
    assert route([rule(9, tier="A")], teams, **HOTLINE_B_BJ) == 3


def test_without_a_rule_or_a_team_for_the_region_the_default_route_takes_it() -> None:
    teams = [team(1), team(2, "SH"), team(3, default=True)]
    assert route([], teams, **HOTLINE_B_BJ) == 3


def test_a_team_without_regions_is_no_fallback() -> None:
    teams = [team(1), team(2), team(3, "SH")]
    assert route([], teams, **HOTLINE_B_BJ) is None


def test_the_region_naming_team_wins_over_the_default_route() -> None:
    teams = [team(1, default=True), team(2, "BJ")]
    assert route([], teams, **HOTLINE_B_BJ) == 2


def test_without_any_cover_no_team_is_chosen() -> None:
    assert route([], [team(2, "SH")], **HOTLINE_B_BJ) is None


# ---------------------------------------------------------------- with the database


@pytest.fixture
def case_of(detractor: Callable[..., Response]) -> Callable[..., Case]:
    """A waiting case for a customer of this region and tier, met at this touchpoint."""

    phones = itertools.count(1)

    def make(*, region: str = "BJ", tier: str = "B", touchpoint: str = "hotline") -> Case:
        response = detractor(phone=f"+86139{next(phones):08d}", region=region)
        Customer.objects.filter(pk=response.customer_id).update(tier=tier)
        Interaction.objects.filter(pk=response.interaction_id).update(touchpoint=touchpoint)
        return case_open(response=Response.objects.get(pk=response.pk))

    return make


@pytest.mark.django_db
def test_rules_are_read_by_their_order_not_by_when_they_were_made(
    case_of: Callable[..., Case],
) -> None:
    later = RoutingRuleFactory(order=20, tier="B")
    sooner = RoutingRuleFactory(order=10, region="BJ")
    assert team_for_case(case_of()) == sooner.team != later.team


@pytest.mark.django_db
def test_routing_a_case_takes_two_queries_however_many_rules(
    case_of: Callable[..., Case], django_assert_num_queries: Any
) -> None:
    elsewhere = TeamFactory(name="Elsewhere", regions=["SH"])
    for n in range(5):
        RoutingRuleFactory(order=n, region=f"R{n}", team=elsewhere)
    fallback = TeamFactory(name="National", regions=[], is_default_route=True)
    case = Case.objects.select_related("customer", "response__interaction").get(pk=case_of().pk)
    with django_assert_num_queries(2):
        assert team_for_case(case) == fallback


@pytest.mark.django_db
def test_a_vip_rule_sends_a_tier_a_case_to_its_team_before_the_regional_team(
    case_of: Callable[..., Case],
) -> None:
    AgentFactory(team=TeamFactory(name="Beijing", regions=["BJ"]))
    vip_agent = AgentFactory(team=TeamFactory(name="VIP desk", regions=[]))
    RoutingRuleFactory(order=1, tier="A", team=vip_agent.team)
    assert case_assign(case_id=case_of(tier="A").pk) == vip_agent
    assert case_assign(case_id=case_of(tier="B").pk).team.name == "Beijing"


@pytest.mark.django_db
def test_a_touchpoint_rule_sends_store_cases_to_the_store_team(
    case_of: Callable[..., Case],
) -> None:
    AgentFactory(team=TeamFactory(name="Beijing", regions=["BJ"]))
    stores = AgentFactory(team=TeamFactory(name="Stores", regions=[]))
    RoutingRuleFactory(touchpoint="store_own", team=stores.team)
    case = case_of(touchpoint="store_own")
    assert case_assign(case_id=case.pk) == stores
    case.refresh_from_db()
    assert case.team == stores.team


@pytest.mark.django_db
def test_without_a_default_route_an_unmatched_case_waits_unrouted_not_with_a_regionless_team(
    case_of: Callable[..., Case],
) -> None:
    AgentFactory(team=TeamFactory(name="Beijing", regions=["BJ"]))
    AgentFactory(team=TeamFactory(name="VIP desk", regions=[]))
    AgentFactory(team=TeamFactory(name="Stores", regions=[]))
    case = case_of(region="XZ")
    assert case_assign(case_id=case.pk) is None
    case.refresh_from_db()
    assert (case.status, case.team, case.agent) == ("new", None, None)
    assert list(Case.objects.filter(unrouted())) == [case]


@pytest.mark.django_db
def test_an_unrouted_case_is_assigned_by_the_sweeper_once_a_default_route_is_chosen(
    case_of: Callable[..., Case],
) -> None:
    national = AgentFactory(team=TeamFactory(name="National", regions=[]))
    case = case_of(region="XZ")
    assert cases_assign_waiting() == 0
    Team.objects.filter(pk=national.team_id).update(is_default_route=True)
    assert cases_assign_waiting() == 1
    case.refresh_from_db()
    assert (case.team, case.agent) == (national.team, national)
    assert not Case.objects.filter(unrouted()).exists()


@pytest.mark.django_db
def test_the_database_refuses_a_second_default_route() -> None:
    TeamFactory(name="National", is_default_route=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamFactory(name="Also national", is_default_route=True)
    TeamFactory(name="Regional", is_default_route=False)
    assert Team.objects.filter(is_default_route=True).count() == 1


@pytest.mark.django_db
def test_a_case_opens_with_the_team_routing_picks(case_of: Callable[..., Case]) -> None:
    beijing = TeamFactory(name="Beijing", regions=["BJ"])
    assert case_of(region="BJ").team == beijing
    assert case_of(region="XZ").team is None
