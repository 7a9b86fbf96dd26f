"""What supervisors read: filters in, plain aggregates out (no querysets of rollups).

nps.reporting.queries implements these over the rollup tables; the dashboard, its
exports and the digest render them. Keep every side to these types.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

DIMENSIONS = ("touchpoint", "channel", "business_type", "region", "tier", "team", "agent")


@dataclass(frozen=True)
class Filters:
    start: date  # inclusive, in the reporting time zone (settings.NPS_REPORTING_TIME_ZONE)
    end: date  # inclusive
    touchpoint: str = ""
    channel: str = ""
    business_type: str = ""
    region: str = ""
    tier: str = ""
    team_id: int | None = None
    agent: str = ""  # the staff id who served the interaction (Interaction.staff_id)
    # The unit filter: a unit and every unit below it (surveys.units.units_below), as ids;
    # None: any unit or none. Build it with nps.reporting.queries.unit_filter.
    units: tuple[int, ...] | None = None
    # Set for a team lead: only these teams' data (None: everything, for supervisors).
    team_scope: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Counts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors


@dataclass(frozen=True)
class Funnel:
    interactions: int = 0
    sent: int = 0  # reached the gateway (sent, delivered, responded, expired, failed after send)
    delivered: int = 0
    responded: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # reason code -> count


@dataclass(frozen=True)
class ClosedLoop:
    opened: int = 0
    first_attempted: int = 0  # a call or message tried, whatever its outcome
    first_contacted: int = 0  # the customer reached (first contact)
    first_contact_in_sla: int = 0
    # Cases whose first contact is decided: reached, finished, or overdue (sla.overdue);
    # the share within SLA is of these, not of cases whose first contact is not yet due.
    first_contact_due: int = 0
    median_minutes_to_first_attempt: float | None = None
    p90_minutes_to_first_attempt: float | None = None
    median_minutes_to_first_contact: float | None = None
    p90_minutes_to_first_contact: float | None = None
    resolved: int = 0
    unreachable: int = 0
    open_now: int = 0  # still open (new, assigned, in progress, on hold or not)
    overdue_now: int = 0
    unrouted_now: int = 0  # open cases no routing rule, region or default route takes
    put_on_hold: int = 0  # cases put on hold at least once (followups.handover)
    mean_minutes_on_hold: float | None = None  # their ended holds, real time, per case
    on_hold_now: int = 0
    verified: int = 0
    recovered: int = 0


@dataclass(frozen=True)
class SendCosts:
    """The SMS sent about the period's interactions and what they cost, with what they bought.

    Cost and answers are the same interactions' (the funnel's days); recovered detractors
    are the closed loop's (cases opened in the period, Case.recovered)."""

    sms: int = 0
    unpriced: int = 0  # sent through a gateway without a price: in no cost below
    segments: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency -> cost of the priced SMS
    answers: int = 0  # the funnel's "responded"
    recovered: int = 0  # the closed loop's "recovered"


@dataclass(frozen=True)
class TeamCases:
    """A team's backlog now: its open cases and, of them, the overdue (followups.sla.overdue)."""

    team_id: int | None  # None: cases no team has taken yet
    open: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class ReasonCount:
    code: str
    name_en: str
    name_zh: str
    detractors: int
