"""The history of a case: every change is one CaseEvent row, written by the service making it.

Every line is announced by followups.signals.case_events_recorded.
"""

from typing import Any

from django.contrib.auth.models import User

from followups.models import CaseEvent
from followups.signals import case_events_recorded


def case_event_record(
    *, case_id: int, kind: str, actor: User | None = None, **detail: Any
) -> CaseEvent:
    """Append one line to the case's history (call it inside the changing transaction)."""
    event = CaseEvent.objects.create(case_id=case_id, kind=kind, actor=actor, detail=detail)
    case_events_recorded.send(sender=CaseEvent, events=[event])
    return event


def case_events_record(events: list[tuple[int, str, dict[str, Any]]]) -> None:
    """case_event_record for many (case id, kind, detail) lines: one insert."""
    written = CaseEvent.objects.bulk_create(
        CaseEvent(case_id=case_id, kind=kind, detail=detail) for case_id, kind, detail in events
    )
    case_events_recorded.send(sender=CaseEvent, events=written)
