"""Follow-ups models, one module per noun; import them from here."""

from followups.models.cases import (
    OPEN_STATUSES,
    UNTOUCHED_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    ContactAttempt,
    ContactChannel,
    ContactOutcome,
    HoldReason,
    Priority,
)
from followups.models.digests import DigestDelivery
from followups.models.problems import (
    AccountabilityEntry,
    Problem,
    ProblemAction,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
)
from followups.models.standards import ServiceStandard
from followups.models.teams import (
    Agent,
    AssignmentPolicy,
    Holiday,
    RoutingRule,
    StaffProfile,
    Team,
)

__all__ = [
    "OPEN_STATUSES",
    "UNTOUCHED_STATUSES",
    "AccountabilityEntry",
    "Agent",
    "AssignmentPolicy",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "ContactAttempt",
    "ContactChannel",
    "ContactOutcome",
    "DigestDelivery",
    "HoldReason",
    "Holiday",
    "Priority",
    "Problem",
    "ProblemAction",
    "ProblemEvent",
    "ProblemSource",
    "ProblemStatus",
    "RoutingRule",
    "ServiceStandard",
    "StaffProfile",
    "Team",
]
