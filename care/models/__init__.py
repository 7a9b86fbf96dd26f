"""Care models, one module per noun; import them from here."""

from care.models.campaigns import (
    Arm,
    CallOutcome,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    CareCall,
    Participation,
    Segment,
)
from care.models.pool import EntryReason, ExitReason, MemberKind, PoolMember, PoolPolicy
from care.models.preferences import (
    CustomerPreference,
    Named,
    PreferenceClass,
    PreferenceFeature,
    PreferenceSource,
)
from care.models.risk import RiskModel, RiskScore

__all__ = [
    "Arm",
    "CallOutcome",
    "CallStatus",
    "Campaign",
    "CampaignMember",
    "CampaignResult",
    "CampaignStatus",
    "CareCall",
    "CustomerPreference",
    "EntryReason",
    "ExitReason",
    "MemberKind",
    "Named",
    "Participation",
    "PoolMember",
    "PoolPolicy",
    "PreferenceClass",
    "PreferenceFeature",
    "PreferenceSource",
    "RiskModel",
    "RiskScore",
    "Segment",
]
