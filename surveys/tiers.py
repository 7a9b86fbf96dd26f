"""The value tier: the CRM's when it sends one, else derived from ARPU by the thresholds.

One home for the rule (docs/architecture.md, "Where each rule lives"): every place that
derives a tier calls `tier_for_arpu` or `tier_from_crm`.
"""

from decimal import Decimal
from typing import Protocol

from surveys.models import Tier, TierThresholds


class Thresholds(Protocol):
    a_above: Decimal
    b_from: Decimal


def tier_for_arpu(arpu: Decimal, thresholds: Thresholds) -> str:
    """A above `a_above`; B from `b_from` to `a_above`, both included; C below `b_from`.

    The operator's table says A "200元以上" and B "120-200元": the two ranges share 200, and
    the product reads A as *above* 200, so 200 itself is B; 120 is B.
    """
    if arpu > thresholds.a_above:
        return Tier.A
    if arpu >= thresholds.b_from:
        return Tier.B
    return Tier.C


def tier_from_crm(*, tier: str | None, arpu: Decimal | None) -> str | None:
    """The tier to store from what the CRM sent: its tier wins, else ARPU's; None: keep.

    Thresholds are read when the customer is recorded: editing them changes the tier of
    later interactions only, never the stored tiers of customers already recorded.
    """
    if tier:
        return tier
    if arpu is not None:
        return tier_for_arpu(arpu, TierThresholds.current())
    return None
