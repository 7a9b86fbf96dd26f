"""Proving recovery: a verification survey some days after a case is resolved.

Opt-out and quiet hours apply to it; the fatigue and do-not-disturb rules do not block it.
It is a contact we initiate: when sent it takes one from the customer's contact budget
and is suppressed when the budget is used up (surveys.pressure; only callbacks are owed).
Its score is stored on the case: recovered when it reaches NPS_RECOVERED_SCORE.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from followups.history import case_event_record
from followups.models import Case, CaseStatus
from surveys.dispatch import invitation_plan_verification
from surveys.models import Response


def verifications_schedule() -> int:
    """Give every resolved case its verification due time (once)."""
    days = timedelta(days=settings.NPS_VERIFICATION_DAYS)
    return Case.objects.filter(resolved_at__isnull=False, verification_due_at__isnull=True).update(
        verification_due_at=F("resolved_at") + days
    )


def verifications_send(*, limit: int = 500) -> int:
    """Plan the verification survey of each due case exactly once, even run twice at once."""
    verifications_schedule()
    sent = 0
    due = Case.objects.filter(
        status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED],
        resolved_at__isnull=False,
        verification_due_at__lte=timezone.now(),
        verification_invitation__isnull=True,
    ).values_list("pk", flat=True)[:limit]
    for case_id in list(due):
        with transaction.atomic():
            # The row lock and the re-check make a concurrent run skip this case.
            case = (
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("response__interaction", "response__invitation__survey")
                .filter(pk=case_id, verification_invitation__isnull=True)
                .first()
            )
            if case is None:
                continue
            invitation = invitation_plan_verification(
                interaction=case.response.interaction, survey=case.response.invitation.asked_survey
            )
            Case.objects.filter(pk=case.pk).update(verification_invitation=invitation)
            case_event_record(
                case_id=case.pk,
                kind="verification_planned",
                invitation=invitation.pk,
                status=invitation.status,
                suppressed_reason=invitation.suppressed_reason,
            )
            sent += 1
    return sent


def case_verification_record(*, response: Response) -> Case | None:
    """Store the verification answer on its case: recovered at 7 or more."""
    case = Case.objects.filter(verification_invitation_id=response.invitation_id).first()
    if case is None:
        return None
    recovered = response.score >= settings.NPS_RECOVERED_SCORE
    Case.objects.filter(pk=case.pk).update(verification_score=response.score, recovered=recovered)
    case_event_record(case_id=case.pk, kind="verified", score=response.score, recovered=recovered)
    return case
