"""The history of a case: every change is one CaseEvent row, written by the service making it."""

from typing import Any

from django.contrib.auth.models import User

from followups.models import CaseEvent


def case_event_record(
    *, case_id: int, kind: str, actor: User | None = None, **detail: Any
) -> CaseEvent:
    """Append one line to the case's history (call it inside the changing transaction)."""
    return CaseEvent.objects.create(case_id=case_id, kind=kind, actor=actor, detail=detail)


def case_events_record(events: list[tuple[int, str, dict[str, Any]]]) -> None:
    """case_event_record for many (case id, kind, detail) lines: one insert."""
    CaseEvent.objects.bulk_create(
        CaseEvent(case_id=case_id, kind=kind, detail=detail) for case_id, kind, detail in events
    )
