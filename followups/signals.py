"""The one seam between follow-ups and the apps that act on what happens to a case.

`case_events_recorded(sender=CaseEvent, events=<list[CaseEvent]>)` is sent for every line
written to a case's history (followups.history), so for every change of a case: opened,
assigned, started, attempt, resolved, unreachable, closed, reopened, verified, escalated,
held... (CaseEvent.kind, with the details in CaseEvent.detail). It is sent inside the
transaction that made the change: a receiver's writes commit or roll back with it.
Receivers must not call the network (queue a task after commit instead).
"""

from django.dispatch import Signal

case_events_recorded = Signal()

# `problems_changed(sender=ProblemEvent, events=<list[ProblemEvent]>)`: every line written to a
# problem's history (followups.problems): opened, moved, planned, verified, escalated,
# closed... Sent inside the transaction that made the change, like case_events_recorded.
problems_changed = Signal()
