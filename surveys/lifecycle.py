"""Invitation status only moves forward; every change is one conditional UPDATE."""

from datetime import datetime, timedelta
from typing import Any

from surveys.models import Invitation
from surveys.models import InvitationStatus as S

# target status -> the statuses it may be reached from
_SOURCES: dict[str, tuple[str, ...]] = {
    S.SENDING: (S.SCHEDULED,),
    S.SENT: (S.SENDING,),
    S.DELIVERED: (S.SENDING, S.SENT),
    S.FAILED: (S.SENDING, S.SENT),
    # A reply proves delivery even when the receipt said failed or never came.
    S.RESPONDED: (S.SENT, S.DELIVERED, S.FAILED),
    S.EXPIRED: (S.SENT, S.DELIVERED),
    S.SUPPRESSED: (S.SCHEDULED,),
}


def can_move(current: str, target: str) -> bool:
    return current in _SOURCES.get(target, ())


def invitation_advance(*, invitation_id: int, to: str, **fields: Any) -> bool:
    """Move forward if allowed from the current status; True when this call moved it."""
    rows = Invitation.objects.filter(pk=invitation_id, status__in=_SOURCES[to]).update(
        status=to, **fields
    )
    return rows == 1


def send_facts(invitation: Invitation, *, provider_message_id: str, at: datetime) -> dict[str, Any]:
    """What a send establishes, whoever learns of it first (our send or the gateway's
    receipt): the gateway's message id, when it went, and when its reply window ends."""
    window = timedelta(hours=invitation.survey.reply_window_hours)
    return {"provider_message_id": provider_message_id, "sent_at": at, "expires_at": at + window}
