"""Knowledge kept: what worked for whom, and the action to suggest for a segment.

Each finished campaign leaves CampaignResult rows (care.campaigns.campaign_finish): its
difference-in-differences for all its customers, for each tier, each region and each
preference its customers hold. actions_suggest reads the rows of the groups a segment
asks for (its tiers, regions and preferences; all customers when it names none) and
ranks the actions by their effect, each group's effect weighted by its treated
customers.
"""

from collections import defaultdict
from dataclasses import dataclass

from care.models import CampaignResult, Segment
from care.segments import segment_filters_clean


@dataclass(frozen=True)
class Suggestion:
    actions: str  # "sms+call", as CampaignResult.actions
    effect: float  # points, weighted mean over the groups' results
    campaigns: int
    treated: int  # treated customers in the groups counted
    groups: tuple[str, ...]


def segment_groups(segment: Segment) -> list[str]:
    """The result groups like the segment: its tiers, regions and preferences, else "all"."""
    filters = segment_filters_clean(segment.filters)
    groups = [f"tier:{tier}" for tier in filters.get("tiers", [])]
    groups += [f"region:{region}" for region in filters.get("regions", [])]
    groups += [f"preference:{code}" for code in filters.get("preferences", {})]
    return groups or ["all"]


def actions_suggest(segment: Segment) -> list[Suggestion]:
    """Past actions for groups like the segment, the largest effect first (ties: more
    customers first)."""
    groups = segment_groups(segment)
    rows = CampaignResult.objects.filter(group__in=groups, effect__isnull=False).values_list(
        "actions", "campaign_id", "group", "treated", "effect"
    )
    weighted: dict[str, float] = defaultdict(float)
    treated: dict[str, int] = defaultdict(int)
    campaigns: dict[str, set[int]] = defaultdict(set)
    seen: dict[str, set[str]] = defaultdict(set)
    for actions, campaign_id, group, count, effect in rows:
        if count == 0 or effect is None:
            continue
        weighted[actions] += effect * count
        treated[actions] += count
        campaigns[actions].add(campaign_id)
        seen[actions].add(group)
    suggestions = [
        Suggestion(
            actions=actions,
            effect=weighted[actions] / treated[actions],
            campaigns=len(campaigns[actions]),
            treated=treated[actions],
            groups=tuple(sorted(seen[actions])),
        )
        for actions in treated
    ]
    return sorted(suggestions, key=lambda s: (-s.effect, -s.treated, s.actions))
