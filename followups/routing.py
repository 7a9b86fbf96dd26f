"""Routing: which team takes a case, by the customer's region and tier and the touchpoint.

Staff keep an ordered list of RoutingRule rows in the admin. The first active rule whose
non-empty conditions all hold picks the team; an empty condition means "any". When no
rule holds, the legacy coverage decides: the team whose `regions` list names the region,
else the team marked as the default route (at most one: a database constraint). A team
without regions is no fallback. When nothing matches and no default route is set, the
case has no team: it waits in the unrouted queue (followups.queries.unrouted).
"""

from collections.abc import Iterable
from typing import Protocol

from followups.models import Case, RoutingRule, Team
from surveys.models import Response


class Rule(Protocol):
    @property
    def region(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def touchpoint(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def team_id(self) -> int: ...


class Coverage(Protocol):
    @property
    def pk(self) -> int: ...
    @property
    def regions(self) -> list[str]: ...
    @property
    def is_default_route(self) -> bool: ...


def rule_holds(rule: Rule, *, region: str, tier: str, touchpoint: str) -> bool:
    """Every condition the rule sets matches; an empty condition matches anything."""
    wanted = ((rule.region, region), (rule.tier, tier), (rule.touchpoint, touchpoint))
    return all(not want or want == have for want, have in wanted)


def team_by_region(teams: Iterable[Coverage], *, region: str) -> int | None:
    """The first team naming the region, else the default route, else None (unrouted)."""
    teams = list(teams)
    named = next((t for t in teams if region and region in t.regions), None)
    default = next((t for t in teams if t.is_default_route), None)
    chosen = named or default
    return chosen.pk if chosen else None


def route(
    rules: Iterable[Rule], teams: Iterable[Coverage], *, region: str, tier: str, touchpoint: str
) -> int | None:
    """The team id of the first active rule that holds (in the given order), else by region."""
    for rule in rules:
        if rule.is_active and rule_holds(rule, region=region, tier=tier, touchpoint=touchpoint):
            return rule.team_id
    return team_by_region(teams, region=region)


class Router:
    """team_for with the rules and teams read once (two queries), to route many at a time."""

    def __init__(self) -> None:
        self.rules = list(RoutingRule.objects.filter(is_active=True).order_by("order", "id"))
        self.teams = {team.pk: team for team in Team.objects.order_by("id")}

    def team(self, *, region: str, tier: str, touchpoint: str) -> Team | None:
        team_id = route(
            self.rules, self.teams.values(), region=region, tier=tier, touchpoint=touchpoint
        )
        return self.teams.get(team_id) if team_id is not None else None


def team_for(*, region: str, tier: str, touchpoint: str) -> Team | None:
    """The team routing picks for these facts: two queries (rules, teams), whatever the count."""
    return Router().team(region=region, tier=tier, touchpoint=touchpoint)


def team_for_response(response: Response) -> Team | None:
    return team_for(
        region=response.customer.region,
        tier=response.customer.tier,
        touchpoint=response.interaction.touchpoint,
    )


def team_for_case(case: Case, *, router: Router | None = None) -> Team | None:
    """The team for the case's customer (region, tier) and its interaction's touchpoint;
    `router`: the rules and teams read once for many cases."""
    return (router or Router()).team(
        region=case.customer.region,
        tier=case.customer.tier,
        touchpoint=case.response.interaction.touchpoint,
    )
