"""Whether to survey: pure rules, no database. The first reason that applies wins."""

import hashlib
from datetime import datetime, timedelta

from surveys.models import SuppressReason


def sample_draw(key: str) -> float:
    """A stable number in [0, 1) for a key: the same interaction is always in or out."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def suppress_reason(
    *,
    opted_out: bool,
    is_mobile: bool,
    last_surveyed_at: datetime | None,
    now: datetime,
    fatigue_days: int,
    sampling_rate: float,
    draw: float,
) -> SuppressReason | None:
    if opted_out:
        return SuppressReason.OPTED_OUT
    if not is_mobile:
        return SuppressReason.INVALID_NUMBER
    if last_surveyed_at is not None and now - last_surveyed_at < timedelta(days=fatigue_days):
        return SuppressReason.FATIGUE
    if draw >= sampling_rate:
        return SuppressReason.SAMPLED_OUT
    return None
