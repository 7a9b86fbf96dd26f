"""Send status only moves forward, for invitations and conversation messages alike; every
change is one conditional UPDATE."""

from datetime import datetime, timedelta
from typing import Any

from surveys.models import Invitation, OutboundMessage, OutboundStatus
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

# A conversation message's status moves forward the same way.
_MESSAGE_SOURCES: dict[str, tuple[str, ...]] = {
    OutboundStatus.SENT: (OutboundStatus.SENDING,),
    OutboundStatus.DELIVERED: (OutboundStatus.SENDING, OutboundStatus.SENT),
    OutboundStatus.FAILED: (OutboundStatus.SENDING, OutboundStatus.SENT),
}


def invitation_advance(*, invitation_id: int, to: str, **fields: Any) -> bool:
    """Move forward if allowed from the current status; True when this call moved it."""
    rows = Invitation.objects.filter(pk=invitation_id, status__in=_SOURCES[to]).update(
        status=to, **fields
    )
    return rows == 1


def message_advance(*, message_id: int, to: str, **fields: Any) -> bool:
    """Move a conversation message forward if allowed; True when this call moved it."""
    rows = OutboundMessage.objects.filter(pk=message_id, status__in=_MESSAGE_SOURCES[to]).update(
        status=to, **fields
    )
    return rows == 1


def send_facts(invitation: Invitation, *, provider_message_id: str, at: datetime) -> dict[str, Any]:
    """What a send establishes, whoever learns of it first (our send or the gateway's
    receipt): the gateway's message id, when it went, and when its reply window ends."""
    window = timedelta(hours=invitation.asked_survey.reply_window_hours)
    return {"provider_message_id": provider_message_id, "sent_at": at, "expires_at": at + window}


def message_send_facts(*, gateway: str, provider_message_id: str, at: datetime) -> dict[str, Any]:
    """The same for a conversation message: which gateway took it, its id there, when."""
    return {"gateway": gateway, "provider_message_id": provider_message_id, "sent_at": at}
