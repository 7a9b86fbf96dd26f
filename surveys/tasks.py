"""Celery tasks: thin wrappers around services. Ids in, re-read rows, one call."""

from celery import Task, shared_task
from django.conf import settings

from surveys import conversation, dispatch, interactions_import, reasons, receipts, relay, replies


@shared_task(acks_late=True)
def send_invitation(invitation_id: int, attempt: int = 1) -> str:
    outcome = dispatch.invitation_send(invitation_id=invitation_id, attempt=attempt)
    if outcome.outcome == "retry":
        dispatch.invitation_retry_enqueue(
            invitation_id=invitation_id, attempt=outcome.next_attempt, eta=outcome.retry_at
        )
    return outcome.outcome


@shared_task(acks_late=True)
def send_invitations(invitation_ids: list[int]) -> list[str]:
    return dispatch.invitations_send(invitation_ids=invitation_ids)


@shared_task(acks_late=True)
def process_replies(message_ids: list[int]) -> list[str]:
    return replies.replies_process(message_ids=message_ids)


@shared_task(acks_late=True)
def apply_receipts(receipt_ids: list[int]) -> list[str]:
    return receipts.receipts_apply(receipt_ids=receipt_ids)


@shared_task
def relay_outbox() -> int:
    return relay.outbox_relay()


@shared_task
def dispatch_due() -> int:
    return dispatch.invitations_dispatch_due() + conversation.messages_sweep()


@shared_task
def expire_receipts() -> int:
    return receipts.receipts_expire()


@shared_task
def expire_invitations() -> int:
    return dispatch.invitations_expire()


@shared_task(acks_late=True)
def send_message(message_id: int, attempt: int = 1) -> str:
    outcome = conversation.message_send(message_id=message_id, attempt=attempt)
    if outcome.outcome == "retry":
        send_message.apply_async((message_id, outcome.next_attempt), eta=outcome.retry_at)
    return outcome.outcome


@shared_task(acks_late=True)
def send_messages(message_ids: list[int]) -> list[str]:
    return conversation.messages_send(message_ids=message_ids)


@shared_task(acks_late=True)
def recategorise_responses(run_id: int) -> str:
    return reasons.recategorisation_run(run_id=run_id)


@shared_task(bind=True, acks_late=True, max_retries=None)
def import_interactions(self: Task, import_id: int) -> str:
    # One run at a time per job (import_delivery); a run lost with its worker is run again,
    # which is safe: the import is idempotent by CRM id.
    action = interactions_import.import_delivery(import_id)
    if action == "wait":
        raise self.retry(countdown=settings.NPS_IMPORT_LEASE_SECONDS)
    if action == "drop":
        return action
    return interactions_import.interactions_import_run(job_id=import_id).status
