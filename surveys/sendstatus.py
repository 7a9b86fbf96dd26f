"""What we send, and how its status moves: one forward-only table per model.

Every status change of an invitation or a conversation message is one conditional UPDATE
allowed by its table (`status_advance`): the send kit (surveys/sending.py), receipts,
replies and the sweepers all go through it, so no copy can let a status go back.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone

from surveys.models import Invitation, OutboundMessage, OutboundStatus
from surveys.models import InvitationStatus as S
from surveys.rowsupdate import rows_update

# The steps of a send, spelled alike in both models' choices (and by DeliveryReceipt).
SENDING, SENT, DELIVERED, FAILED = "sending", "sent", "delivered", "failed"


@dataclass(frozen=True)
class StatusTable:
    """One kind of SMS we send: its model, our reference prefix, its forward-only statuses."""

    model: type[Invitation] | type[OutboundMessage]
    prefix: str  # our reference is <prefix>-<pk>: the gateway's idempotency key
    sources: dict[str, tuple[str, ...]]  # target status -> the statuses it may come from
    stamps: dict[str, str] = field(default_factory=dict)  # target status -> its time field

    def reference(self, pk: int) -> str:
        return f"{self.prefix}-{pk}"


INVITATIONS = StatusTable(
    Invitation,
    "inv",
    {
        S.SENDING: (S.SCHEDULED,),
        S.SENT: (S.SENDING,),
        S.DELIVERED: (S.SENDING, S.SENT),
        S.FAILED: (S.SENDING, S.SENT),
        # A reply proves delivery even when the receipt said failed or never came.
        S.RESPONDED: (S.SENT, S.DELIVERED, S.FAILED),
        S.EXPIRED: (S.SENT, S.DELIVERED),
        # Opt-out stops a send not yet made, or the retry of one a dead worker left
        # (sending.send_stop: never a send in flight).
        S.SUPPRESSED: (S.SCHEDULED, S.SENDING),
    },
    stamps={S.DELIVERED: "delivered_at", S.FAILED: "failed_at"},
)

MESSAGES = StatusTable(
    OutboundMessage,
    "msg",
    {
        OutboundStatus.SENDING: (OutboundStatus.QUEUED,),
        OutboundStatus.SENT: (OutboundStatus.SENDING,),
        OutboundStatus.DELIVERED: (OutboundStatus.SENDING, OutboundStatus.SENT),
        OutboundStatus.FAILED: (OutboundStatus.SENDING, OutboundStatus.SENT),
        # Opt-out stops a send not yet made, or the retry of one a dead worker left
        # (sending.send_stop: never a send in flight).
        OutboundStatus.SKIPPED: (OutboundStatus.QUEUED, OutboundStatus.SENDING),
    },
)

TABLES = (INVITATIONS, MESSAGES)


def table_of(row: Model) -> StatusTable:
    return next(table for table in TABLES if isinstance(row, table.model))


def referenced(reference: str) -> tuple[StatusTable, int] | None:
    """The kind and pk our reference names (`inv-12`), or None when it names none of ours."""
    prefix, _, pk = reference.partition("-")
    table = next((t for t in TABLES if t.prefix == prefix), None)
    return (table, int(pk)) if table and pk.isdigit() else None


def status_advance(table: StatusTable, *, pk: int, to: str, **fields: Any) -> bool:
    """Move forward if the table allows it from the current status; True when this call
    moved it. The status's time field (delivered_at, failed_at) is stamped with it."""
    return statuses_advance(table, table.model.objects.filter(pk=pk), to=to, **fields) == 1


def statuses_advance(table: StatusTable, rows: QuerySet[Any], *, to: str, **fields: Any) -> int:
    """The same for every row of `rows` the table lets move: one UPDATE; how many moved."""
    if to in table.stamps:
        fields.setdefault(table.stamps[to], timezone.now())
    return rows.filter(status__in=table.sources[to]).update(status=to, **fields)


def statuses_advance_with(table: StatusTable, values: dict[int, dict[str, Any]], *, to: str) -> int:
    """Write each row's own values (rowsupdate.rows_update) and move every row the table
    lets move to `to`, in one statement: one new version of each row, not two."""
    if to in table.stamps:
        raise ValueError(
            f"statuses_advance_with: {to} stamps {table.stamps[to]}; use statuses_advance"
        )
    return rows_update(table.model, values, moved=("status", to, table.sources[to]))


def invitation_advance(*, invitation_id: int, to: str, **fields: Any) -> bool:
    return status_advance(INVITATIONS, pk=invitation_id, to=to, **fields)


def send_facts(
    sent: Invitation | OutboundMessage, *, gateway: str, provider_message_id: str, at: datetime
) -> dict[str, Any]:
    """What a send establishes, whoever learns of it first (our send or the gateway's
    receipt): which gateway took it, its id there, when it went, and for a survey when
    its reply window ends."""
    facts: dict[str, Any] = {
        "gateway": gateway,
        "provider_message_id": provider_message_id,
        "sent_at": at,
    }
    if isinstance(sent, Invitation):
        facts["expires_at"] = at + timedelta(hours=sent.asked_survey.reply_window_hours)
    return facts
