"""Working a case: which status moves are allowed, and the services that make them.

new → assigned → in progress → resolved / unreachable → closed, and back to work with
a reason (reopen). Assignment (new → assigned) is followups.assignment. Score
corrections (followups.cases) close untouched cases and reopen them outside this
table: they follow the customer's answer, not the staff's work.

Each service locks the case row, checks its move against TRANSITIONS, writes only the
fields it changes and records one CaseEvent per change, in the same transaction.

A case that leaves the open statuses, or closes, frees a place in its team: the team's
next waiting case is queued for assignment after commit (followups.assignment). A
reopened case keeps its agent only if that agent could take a new case now; otherwise
it waits, unassigned, and is assigned like a new one. Either way its SLA clocks start
again from the reopening. Every close takes a reason.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from followups.assignment import agent_can_take_now, team_waiting_assign
from followups.cases import customer_callback_refresh
from followups.history import case_event_record
from followups.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    ContactAttempt,
    ContactOutcome,
    Priority,
)
from followups.permissions import can_change_priority
from followups.roles import agent_of
from followups.routing import team_for_case
from followups.sla import hold_ended, sla_clock_restart, sla_due_times
from surveys.models import ContactKind, ReasonCategory
from surveys.pressure import contact_record
from surveys.queue import task_queue

S = CaseStatus
DONE = (S.RESOLVED, S.UNREACHABLE, S.CLOSED)

# (from, to) -> the kind of the history event that records the move.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.NEW, S.ASSIGNED): "assigned",
    (S.ASSIGNED, S.IN_PROGRESS): "started",
    (S.IN_PROGRESS, S.RESOLVED): "resolved",
    (S.IN_PROGRESS, S.UNREACHABLE): "unreachable",
    (S.RESOLVED, S.CLOSED): "closed",
    (S.UNREACHABLE, S.CLOSED): "closed",
    **{(done, back): "reopened" for done in DONE for back in (S.IN_PROGRESS, S.NEW)},
}
WORKABLE = (S.ASSIGNED, S.IN_PROGRESS)  # contact attempts are logged on these

Actor = User | None


class TransitionNotAllowed(ValidationError):
    """A service was asked for a status move the table does not allow."""

    def __init__(self, *, case_id: int, current: str, requested: str) -> None:
        self.current, self.requested = current, requested
        text = _("Case #%(case)s cannot move from “%(current)s” to “%(requested)s”.") % {
            "case": case_id,
            "current": S(current).label,
            "requested": S(requested).label,
        }
        super().__init__(text, code="transition")

    def __str__(self) -> str:
        return str(self.message)


def transition_allowed(current: str, requested: str, *, kind: str) -> bool:
    return TRANSITIONS.get((current, requested)) == kind


def next_statuses(current: str) -> set[str]:
    return {to for (start, to) in TRANSITIONS if start == current}


def work_available(current: str) -> set[str]:
    """What staff may do to a case in this status: "attempt" and the event kinds it allows."""
    kinds = {TRANSITIONS[(current, to)] for to in next_statuses(current)}
    return kinds | {"attempt"} if current in WORKABLE else kinds


def unreachable_after(outcomes: Iterable[str], *, limit: int) -> bool:
    """True once `limit` attempts failed and none reached the customer."""
    outcomes = list(outcomes)
    if ContactOutcome.REACHED in outcomes:
        return False
    return len(outcomes) >= limit


def required(**values: Any) -> None:
    """Raise one ValidationError naming every empty field."""
    missing = {
        name: ValidationError(_("This field is required."), code="required")
        for name, value in values.items()
        if value is None or (isinstance(value, str) and not value.strip())
    }
    if missing:
        raise ValidationError(missing)


def _locked(case_id: int) -> Case:
    return Case.objects.select_for_update().get(pk=case_id)


def _write(case: Case, changes: dict[str, Any]) -> None:
    """Set these fields on the locked case and save only them."""
    for field, value in changes.items():
        setattr(case, field, value)
    case.save(update_fields=list(changes))


def _move(
    case: Case,
    *,
    to: str,
    kind: str,
    actor: Actor,
    detail: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Move a locked case to `to`, write the changed fields, record the event."""
    if not transition_allowed(case.status, to, kind=kind):
        raise TransitionNotAllowed(case_id=case.pk, current=case.status, requested=to)
    start = case.status
    if case.held_since is not None and to not in OPEN_STATUSES:  # done: the hold ends too
        changes = {**hold_ended(case, at=timezone.now()), **changes}
    _write(case, {"status": to, **changes})
    detail = {"from": start, "to": to, **(detail or {})}
    case_event_record(case_id=case.pk, kind=kind, actor=actor, **detail)
    if (start in OPEN_STATUSES) != (to in OPEN_STATUSES):  # surveys pause while we call back
        customer_callback_refresh(customer_id=case.customer_id)
    frees_a_place = start in OPEN_STATUSES and to not in OPEN_STATUSES
    if case.team_id is not None and (frees_a_place or to == S.CLOSED):
        team_waiting_assign(team_id=case.team_id)  # at once, not at the next sweep


def case_start(*, case_id: int, actor: Actor) -> Case:
    """Move an assigned case to in progress (any other status is refused)."""
    with transaction.atomic():
        case = _locked(case_id)
        _move(case, to=S.IN_PROGRESS, kind="started", actor=actor)
    return case


def case_attempt_log(
    *,
    case_id: int,
    actor: Actor,
    channel: str,
    outcome: str,
    note: str = "",
    at: datetime | None = None,
) -> ContactAttempt:
    """Record one attempt; start the case, stamp the first attempt once and first contact
    once the customer is reached; give up after N failures.

    Each attempt is a contact with the customer, logged against their contact budget
    (surveys.pressure.contact_record): counted, never refused, as a detractor is owed
    the call."""
    logged_at = at
    at = at or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case.status not in WORKABLE:
            raise TransitionNotAllowed(
                case_id=case.pk, current=case.status, requested=S.IN_PROGRESS
            )
        # A call logged as made now is stamped once the customer is locked (in the order
        # the budget decides); one logged afterwards keeps its time.
        contact_record(
            customer_id=case.customer_id,
            kind=ContactKind.CALLBACK,
            source=f"case:{case.pk}",
            at=logged_at,
        )
        attempt = ContactAttempt.objects.create(
            case=case,
            agent=(agent_of(actor) if actor else None) or case.agent,
            at=at,
            channel=channel,
            outcome=outcome,
            note=note,
        )
        case_event_record(
            case_id=case.pk,
            kind="attempt",
            actor=actor,
            channel=channel,
            outcome=outcome,
            note=note,
            attempt=attempt.pk,
        )
        # First contact is the customer reached; a failed call is only an attempt.
        stamps = {"first_attempt_at": case.first_attempt_at is None}
        stamps["first_contact_at"] = (
            outcome == ContactOutcome.REACHED and case.first_contact_at is None
        )
        if stamped := [field for field, due in stamps.items() if due]:
            for field in stamped:
                setattr(case, field, at)
            case.save(update_fields=stamped)
        if case.status == S.ASSIGNED:
            _move(case, to=S.IN_PROGRESS, kind="started", actor=actor)
        limit = settings.NPS_UNREACHABLE_AFTER
        if unreachable_after(_outcomes_since_reopened(case), limit=limit):
            detail = {"failed_attempts": limit, "automatic": True}
            _move(case, to=S.UNREACHABLE, kind="unreachable", actor=actor, detail=detail)
    return attempt


def _outcomes_since_reopened(case: Case) -> list[str]:
    # A reopened case starts counting again: its earlier failures gave up once already.
    reopened = case.events.filter(kind="reopened").order_by("-pk").values_list("at", flat=True)
    attempts = case.attempts.all()
    if since := reopened.first():
        attempts = attempts.filter(at__gte=since)
    return list(attempts.values_list("outcome", flat=True))


def case_resolve(
    *,
    case_id: int,
    actor: Actor,
    root_causes: Iterable[ReasonCategory],
    action_taken: str,
    note: str,
) -> Case:
    """Resolve an in-progress case with its root causes (one or more), action and note (the
    only way to resolved)."""
    causes = list(root_causes or [])
    required(root_causes=causes or None, action_taken=action_taken, note=note)
    action_taken, note = action_taken.strip(), note.strip()
    with transaction.atomic():
        case = _locked(case_id)
        _move(
            case,
            to=S.RESOLVED,
            kind="resolved",
            actor=actor,
            resolved_at=timezone.now(),
            action_taken=action_taken,
            resolution_note=note,
            detail={
                "root_cause": [cause.code for cause in causes],
                "action_taken": action_taken,
                "note": note,
            },
        )
        case.root_causes.set(causes)
    return case


def case_call_log(
    *,
    case_id: int,
    actor: Actor,
    channel: str,
    outcome: str,
    note: str = "",
    solved: bool = False,
    root_causes: Iterable[ReasonCategory] = (),
    action_taken: str = "",
) -> Case:
    """Log a call and, when the customer was reached and the problem is solved, resolve the
    case in the same transaction: both happen or neither."""
    if solved:
        if outcome != ContactOutcome.REACHED:
            raise ValidationError(
                {"solved": _("Only a call that reached the customer can solve the problem.")},
                code="not_reached",
            )
        required(root_causes=list(root_causes) or None, action_taken=action_taken, note=note)
    with transaction.atomic():
        case_attempt_log(case_id=case_id, actor=actor, channel=channel, outcome=outcome, note=note)
        if solved:
            case_resolve(
                case_id=case_id,
                actor=actor,
                root_causes=root_causes,
                action_taken=action_taken,
                note=note,
            )
    return Case.objects.get(pk=case_id)


def case_mark_unreachable(*, case_id: int, actor: Actor, reason: str = "") -> Case:
    """Give up on reaching the customer of an in-progress case."""
    with transaction.atomic():
        case = _locked(case_id)
        _move(case, to=S.UNREACHABLE, kind="unreachable", actor=actor, detail={"reason": reason})
    return case


def case_close(*, case_id: int, actor: Actor, reason: str) -> Case:
    """Close a resolved or unreachable case, with a reason (an empty one is refused)."""
    required(reason=reason)
    with transaction.atomic():
        case = _locked(case_id)
        _move(
            case,
            to=S.CLOSED,
            kind="closed",
            actor=actor,
            closed_at=timezone.now(),
            close_reason=reason.strip(),
            detail={"reason": reason.strip()},
        )
    return case


def case_reopen(*, case_id: int, actor: Actor, reason: str) -> Case:
    """Put a finished case back to work with a reason and new SLA clocks from now: to its
    agent if they could take a new case now, else to the queue, assigned like a new one."""
    required(reason=reason)
    now = timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        keeps = case.agent_id is not None and agent_can_take_now(agent_id=case.agent_id, now=now)
        back = S.IN_PROGRESS if keeps else S.NEW
        handed_back = {} if keeps else {"agent": None, "assigned_at": None}
        _move(
            case,
            to=back,
            kind="reopened",
            actor=actor,
            resolved_at=None,
            closed_at=None,
            close_reason="",
            closed_by_correction=False,
            **handed_back,
            **sla_clock_restart(
                priority=case.priority, tier=case.customer.tier, team=case.team, at=now
            ),
            detail={"reason": reason.strip()},
        )
        if back == S.NEW:
            task_queue("followups.tasks.assign_case", case.pk)
    return case


def case_priority_change(*, case_id: int, actor: User, priority: str, reason: str) -> Case:
    """Change an open case's priority, with a reason, by a lead or supervisor; SLA due times follow.

    The due times are counted again from the case's opening at the new priority, so a case
    lowered from P1 to P3 gets P3's time (and escalation grace), never more than that.
    """
    required(priority=priority, reason=reason)
    with transaction.atomic():
        case = _locked(case_id)
        if not can_change_priority(actor, case):
            raise PermissionDenied
        if case.status not in OPEN_STATUSES:
            raise ValidationError(_("Only an open case's priority can change."), code="closed")
        if priority == case.priority or priority not in Priority.values:
            raise ValidationError(
                {"priority": _("Choose a priority other than the case's.")}, code="unchanged"
            )
        before = (case.priority, case.sla_due_at, case.resolution_due_at)
        # In the hours of the team working it, else of the team routing picks (as at opening).
        team = case.team if case.team_id else team_for_case(case)
        case.sla_due_at, case.resolution_due_at = sla_due_times(
            priority=priority, tier=case.customer.tier, opened_at=case.opened_at, team=team
        )
        case.priority = priority
        case.save(update_fields=["priority", "sla_due_at", "resolution_due_at"])
        case_event_record(
            case_id=case.pk,
            kind="priority_changed",
            actor=actor,
            priority_from=before[0],
            priority=priority,
            reason=reason.strip(),
            first_contact_due=[_iso(before[1]), _iso(case.sla_due_at)],
            resolution_due=[_iso(before[2]), _iso(case.resolution_due_at)],
        )
    return case


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
