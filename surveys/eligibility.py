"""Whether to survey: pure rules, no database. The first reason that applies wins."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from surveys.models import SuppressReason


def sample_draw(key: str) -> float:
    """A stable number in [0, 1) for a key: the same interaction is always in or out."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_too_old(*, occurred_at: datetime | None, now: datetime, max_age_hours: int | None) -> bool:
    """Older than the survey's maximum age when it reaches us (exactly that age still counts)."""
    if occurred_at is None or max_age_hours is None:
        return False
    return now - occurred_at > timedelta(hours=max_age_hours)


@dataclass(frozen=True)
class TierCap:
    surveys: int  # at most this many ...
    days: int  # ... within this many days


def suppress_reason(
    *,
    opted_out: bool,  # not surveys.consent.may_message(customer, Purpose.SURVEY)
    is_mobile: bool,
    last_surveyed_at: datetime | None,
    now: datetime,
    fatigue_days: int,
    sampling_rate: float,
    draw: float,
    in_callback: bool = False,
    surveyed_today: bool = False,
    recent_surveys: int = 0,
    tier_cap: TierCap | None = None,
    occurred_at: datetime | None = None,
    max_age_hours: int | None = None,
) -> SuppressReason | None:
    if opted_out:
        return SuppressReason.OPTED_OUT
    if not is_mobile:
        return SuppressReason.INVALID_NUMBER
    if is_too_old(occurred_at=occurred_at, now=now, max_age_hours=max_age_hours):
        return SuppressReason.TOO_OLD  # a backfill must not text about a forgotten visit
    if in_callback:  # do not disturb a customer we are already calling back
        return SuppressReason.OPEN_CASE
    if surveyed_today:  # the first interaction of the day wins, across touchpoints
        return SuppressReason.DAILY_CAP
    if last_surveyed_at is not None and now - last_surveyed_at < timedelta(days=fatigue_days):
        return SuppressReason.FATIGUE
    if tier_cap is not None and recent_surveys >= tier_cap.surveys:
        return SuppressReason.TIER_CAP
    if draw >= sampling_rate:
        return SuppressReason.SAMPLED_OUT
    return None
