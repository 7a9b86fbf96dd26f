"""The frontline staff scorecard, for coaching: per service staff id (Interaction.staff_id,
the rollups' `agent`) within a unit's subtree, their answers, NPS ± margin, detractor share
and the reasons their detractors gave most.

Who may read it is `staff_scorecard_allowed`: supervisors, and the owners of the unit or of
a unit above it (followups.roles.unit_scope), so a staff member's figures in a unit reach
the managers of that unit only; not the staff, their peers or other units' owners. The
figures of a staff member who served in several units are those of the chosen subtree.

Two queries on the finest rollup grain (no stored grain keeps both the agent and the unit),
bounded by the days and the subtree's units.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Sum

from followups.roles import User, unit_scope
from nps.models import NpsDaily, ReasonDaily
from nps.reporting.contract import Counts, Filters
from nps.reporting.queries import rollup_rows
from nps.reporting.stats import Estimate, estimate, share_interval
from surveys.units import units_below

TOP_REASONS = 3


@dataclass(frozen=True)
class StaffReason:
    code: str
    name_en: str
    name_zh: str
    detractors: int


@dataclass(frozen=True)
class StaffRow:
    staff_id: str
    estimate: Estimate
    detractor_low: float | None
    detractor_high: float | None
    reasons: list[StaffReason] = field(default_factory=list)


def staff_scorecard_allowed(user: User, unit_id: int) -> bool:
    """Whether `user` may read the staff scorecard of `unit_id`: a supervisor, or an owner
    of that unit or of one above it."""
    scope = unit_scope(user)
    return scope is None or unit_id in scope


def staff_rows(*, unit_id: int, start: date, end: date) -> list[StaffRow]:
    """Every staff id with answers in the subtree of `unit_id` over start..end, most answers
    first (then by id)."""
    f = Filters(start=start, end=end)
    below = units_below(unit_id)
    answers = (
        rollup_rows(NpsDaily, f, "agent", "unit_id")
        .filter(unit_id__in=below)
        .exclude(agent="")
        .values("agent")
        .order_by()
        .annotate(p=Sum("promoters"), pa=Sum("passives"), d=Sum("detractors"))
    )
    reasons = (
        rollup_rows(ReasonDaily, f, "agent", "unit_id")
        .filter(unit_id__in=below, detractors__gt=0)
        .exclude(agent="")
        .values("agent", "reason__code", "reason__name_en", "reason__name_zh")
        .order_by()
        .annotate(total=Sum("detractors"))
    )
    by_staff: dict[str, list[StaffReason]] = defaultdict(list)
    for r in reasons:
        by_staff[r["agent"]].append(
            StaffReason(r["reason__code"], r["reason__name_en"], r["reason__name_zh"], r["total"])
        )
    rows = []
    for a in answers:
        counts = Counts(promoters=a["p"], passives=a["pa"], detractors=a["d"])
        interval = share_interval(counts.detractors, counts.n)
        top = sorted(by_staff[a["agent"]], key=lambda r: (-r.detractors, r.code))[:TOP_REASONS]
        rows.append(
            StaffRow(
                staff_id=a["agent"],
                estimate=estimate(counts),
                detractor_low=interval[0] if interval else None,
                detractor_high=interval[1] if interval else None,
                reasons=top,
            )
        )
    return sorted(rows, key=lambda r: (-r.estimate.n, r.staff_id))
