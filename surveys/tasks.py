"""Celery tasks: thin wrappers around services. Ids in, re-read rows, one call."""

from celery import shared_task

from surveys import conversation, dispatch, receipts, replies


@shared_task(acks_late=True)
def send_invitation(invitation_id: int, attempt: int = 1) -> str:
    outcome = dispatch.invitation_send(invitation_id=invitation_id, attempt=attempt)
    if outcome.outcome == "retry":
        dispatch.invitation_retry_enqueue(
            invitation_id=invitation_id, attempt=outcome.next_attempt, eta=outcome.retry_at
        )
    return outcome.outcome


@shared_task(acks_late=True)
def process_reply(message_id: int) -> str:
    return replies.reply_process(message_id=message_id)


@shared_task(bind=True, acks_late=True, max_retries=6)
def apply_receipt(self, receipt_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = receipts.receipt_apply(receipt_id=receipt_id)
    if outcome == "unmatched":  # our record of the send may not be committed yet
        raise self.retry(countdown=2**self.request.retries)
    return outcome


@shared_task
def dispatch_due() -> int:
    return dispatch.invitations_dispatch_due() + conversation.messages_sweep()


@shared_task
def sweep_inbound() -> int:
    return replies.replies_sweep() + receipts.receipts_sweep()


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
def recategorise_responses(run_id: int) -> str:
    from surveys.reasons import recategorisation_run

    return recategorisation_run(run_id=run_id)
