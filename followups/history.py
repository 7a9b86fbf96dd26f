"""The history of a case: every change is one CaseEvent row, written by the service making it."""

from typing import Any

from django.contrib.auth.models import User

from followups.models import CaseEvent


def case_event_record(
    *, case_id: int, kind: str, actor: User | None = None, **detail: Any
) -> CaseEvent:
    """Append one line to the case's history (call it inside the changing transaction)."""
    return CaseEvent.objects.create(case_id=case_id, kind=kind, actor=actor, detail=detail)
