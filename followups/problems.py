"""Problems and their lifecycle (followups.models.problems): the one place that changes them.

Every change writes a ProblemEvent and sends `followups.signals.problems_changed` in the
same transaction (nps turns it into webhook events).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from followups.history import case_event_record
from followups.models import (
    AccountabilityEntry,
    Case,
    Problem,
    ProblemAction,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
)
from followups.signals import problems_changed
from surveys.models import ReasonCategory, ResponseReason, Unit

DEFAULT_DEADLINE = timedelta(days=10)  # a ten-day cycle, unless the opener sets one


def problem_event_record(
    problem: Problem, kind: str, *, actor: User | None = None, **detail: Any
) -> ProblemEvent:
    event = ProblemEvent.objects.create(problem=problem, kind=kind, actor=actor, detail=detail)
    problems_changed.send(sender=ProblemEvent, events=[event])
    return event


def problem_open(
    *,
    title: str,
    responsible_unit: Unit,
    source: str = ProblemSource.PERSON,
    reason: ReasonCategory | None = None,
    place_unit: Unit | None = None,
    touchpoint: str = "",
    region: str = "",
    owner: User | None = None,
    opened_by: User | None = None,
    deadline: datetime | None = None,
    cases: Iterable[Case] = (),
    **detail: Any,
) -> Problem:
    """Open a problem for `responsible_unit`; its deadline is DEFAULT_DEADLINE from now unless
    given. `detail` goes to the "opened" history line (e.g. the alert that raised it)."""
    now = timezone.now()
    with transaction.atomic():
        problem = Problem.objects.create(
            title=title[:200],
            responsible_unit=responsible_unit,
            source=source,
            reason=reason,
            place_unit=place_unit,
            touchpoint=touchpoint,
            region=region,
            owner=owner,
            opened_by=opened_by,
            deadline=deadline or now + DEFAULT_DEADLINE,
        )
        linked = list(cases)
        if linked:
            problem.cases.add(*linked)
        problem_event_record(
            problem, "opened", actor=opened_by, source=source, cases=[c.pk for c in linked],
            **detail,
        )  # fmt: skip
    return problem


# ---------------------------------------------------------------- the lifecycle

# open -> rectifying -> verifying -> closed; verifying -> rectifying when the fix did not
# hold; closed -> rectifying when a person reopens it. Closing unverified is allowed from
# any status that is not closed (it leaves an accountability entry).
MOVES: dict[str, set[str]] = {
    ProblemStatus.OPEN: {ProblemStatus.RECTIFYING},
    ProblemStatus.RECTIFYING: {ProblemStatus.VERIFYING},
    ProblemStatus.VERIFYING: {ProblemStatus.RECTIFYING, ProblemStatus.CLOSED},
    ProblemStatus.CLOSED: {ProblemStatus.RECTIFYING},
}
ESCALATE_EVERY = timedelta(hours=24)  # an overdue problem is escalated again after a day


class ProblemRefused(ValueError):
    """A change the problem's state does not allow; the message says why, for people."""


def problem_overdue(now: datetime) -> Q:
    """The one rule for an overdue problem: not closed and past its deadline."""
    return Q(deadline__lt=now) & ~Q(status=ProblemStatus.CLOSED)


def problem_escalation_due(now: datetime) -> Q:
    """Overdue and not escalated in the last ESCALATE_EVERY."""
    recent = Q(escalated_at__isnull=False, escalated_at__gt=now - ESCALATE_EVERY)
    return problem_overdue(now) & ~recent


def _locked(problem: Problem) -> Problem:
    return Problem.objects.select_for_update().get(pk=problem.pk)


def _refuse_move(problem: Problem, to: str) -> None:
    if to not in MOVES.get(problem.status, set()):
        raise ProblemRefused(
            _("A problem that is %(status)s cannot become %(to)s.")
            % {"status": ProblemStatus(problem.status).label, "to": ProblemStatus(to).label}
        )


def _save(
    problem: Problem, kind: str, *, by: User | None, fields: list[str], **detail: Any
) -> None:
    problem.save(update_fields=fields)
    problem_event_record(problem, kind, actor=by, **detail)


def _most_common(values: Iterable[Any]) -> Any:
    counted = Counter(v for v in values if v not in (None, ""))
    # ties go to the smallest value, so the same cases always give the same place
    return min(counted, key=lambda v: (-counted[v], v)) if counted else None


def problem_from_cases(
    cases: Iterable[Case],
    *,
    by: User,
    title: str = "",
    responsible_unit: Unit | None = None,
    owner: User | None = None,
    deadline: datetime | None = None,
) -> Problem:
    """Open a problem from cases a person picked: the cases' most common reason (their
    answers' reasons, else the root causes found), their unit, touchpoint and region."""
    linked = list(
        Case.objects.filter(pk__in=[c.pk for c in cases]).select_related(
            "customer", "response__interaction", "unit"
        )
    )
    if not linked:
        raise ProblemRefused(_("Pick at least one case."))
    answers = ResponseReason.objects.filter(response__case__in=linked)
    reason_id = _most_common(answers.values_list("category_id", flat=True)) or _most_common(
        Case.root_causes.through.objects.filter(case__in=linked).values_list(
            "reasoncategory_id", flat=True
        )
    )
    unit_id = _most_common(c.unit_id for c in linked)
    touchpoint = _most_common(
        c.response.interaction.touchpoint for c in linked if c.response.interaction
    )
    region = _most_common(c.customer.region for c in linked)
    responsible = responsible_unit or (Unit.objects.get(pk=unit_id) if unit_id else None)
    if responsible is None:
        raise ProblemRefused(_("The cases have no responsible unit: choose one."))
    reason = ReasonCategory.objects.filter(pk=reason_id).first() if reason_id else None
    place = Unit.objects.filter(pk=unit_id).first() if unit_id else None
    if not title:
        title = _("%(reason)s at %(place)s") % {
            "reason": reason.label() if reason else _("Complaints"),
            "place": place or responsible,
        }
    return problem_open(
        title=title, responsible_unit=responsible, source=ProblemSource.PERSON, reason=reason,
        place_unit=place, touchpoint=touchpoint or "", region=region or "", owner=owner,
        opened_by=by, deadline=deadline, cases=linked,
    )  # fmt: skip


def problem_edit(problem: Problem, *, by: User, fields: list[str]) -> None:
    """Save what a person changed on the problem's page (title, owner, deadline, plan, ...)
    and write one "changed" line naming the fields."""
    if not fields:
        return
    with transaction.atomic():
        _save(problem, "changed", by=by, fields=fields, fields_changed=sorted(fields))


def problem_plan_set(problem: Problem, *, by: User, plan: str) -> None:
    with transaction.atomic():
        problem.plan = plan
        _save(problem, "planned", by=by, fields=["plan"])


def problem_action_add(
    problem: Problem,
    *,
    by: User,
    text: str,
    assignee: User | None = None,
    due_at: datetime | None = None,
) -> ProblemAction:
    with transaction.atomic():
        action = ProblemAction.objects.create(
            problem=problem, text=text[:300], assignee=assignee, due_at=due_at
        )
        problem_event_record(problem, "action_added", actor=by, action=action.pk, text=action.text)
    return action


def problem_action_done(action: ProblemAction, *, by: User) -> bool:
    """Mark an action done once (a second call changes nothing)."""
    with transaction.atomic():
        done = ProblemAction.objects.filter(pk=action.pk, done_at__isnull=True).update(
            done_at=timezone.now()
        )
        if done:
            problem_event_record(
                action.problem, "action_done", actor=by, action=action.pk, text=action.text
            )
    action.refresh_from_db()
    return bool(done)


def problem_rectifying_start(problem: Problem, *, by: User, note: str = "") -> None:
    """open -> rectifying, or verifying -> rectifying (the verification failed)."""
    with transaction.atomic():
        locked = _locked(problem)
        _refuse_move(locked, ProblemStatus.RECTIFYING)
        was = locked.status
        locked.status = ProblemStatus.RECTIFYING
        locked.close_proposed_at = None
        _save(
            locked, "moved", by=by, fields=["status", "close_proposed_at"],
            old=was, new=locked.status, note=note,
        )  # fmt: skip
    problem.refresh_from_db()


def problem_rectified(problem: Problem, *, by: User, note: str = "") -> None:
    """rectifying -> verifying: the fix is in; the "after" window of verification starts now."""
    with transaction.atomic():
        locked = _locked(problem)
        _refuse_move(locked, ProblemStatus.VERIFYING)
        locked.status, locked.fixed_at = ProblemStatus.VERIFYING, timezone.now()
        locked.after_detractors = locked.after_answers = locked.p_value = None
        locked.close_proposed_at = locked.verified_at = None
        fields = ["status", "fixed_at", "after_detractors", "after_answers", "p_value"]
        _save(
            locked, "moved", by=by, fields=[*fields, "close_proposed_at", "verified_at"],
            old=ProblemStatus.RECTIFYING, new=locked.status, note=note,
        )  # fmt: skip
    problem.refresh_from_db()


def problem_verification_record(
    problem: Problem,
    *,
    before: tuple[int, int],
    after: tuple[int, int],
    p_value: float | None,
    significant: bool,
) -> bool:
    """Store the reason's (detractors, answers) in the place before and after the fix; a
    significant fall proposes the closure once (a person confirms it). False when the
    problem is no longer verifying. A line is written when the verdict changes."""
    with transaction.atomic():
        locked = _locked(problem)
        if locked.status != ProblemStatus.VERIFYING:
            return False
        first = locked.verified_at is None
        was_significant = locked.close_proposed_at is not None
        locked.before_detractors, locked.before_answers = before
        locked.after_detractors, locked.after_answers = after
        locked.p_value, locked.verified_at = p_value, timezone.now()
        fields = ["before_detractors", "before_answers", "after_detractors", "after_answers"]
        fields += ["p_value", "verified_at"]
        if significant != was_significant:
            locked.close_proposed_at = timezone.now() if significant else None
            fields.append("close_proposed_at")
        locked.save(update_fields=fields)
        if first or significant != was_significant:
            kind = "closure_proposed" if significant else "verified"
            problem_event_record(
                locked, kind, before=list(before), after=list(after), p_value=p_value,
                significant=significant,
            )  # fmt: skip
    problem.refresh_from_db()
    return True


def problem_close(problem: Problem, *, by: User, verified: bool, note: str = "") -> None:
    """A person closes the problem. Verified needs the proposed closure (a significant fall
    of the share); closing late or unverified leaves one automatic accountability entry."""
    if by is None or not by.is_authenticated:
        raise ProblemRefused(_("Closing a problem needs a person."))
    with transaction.atomic():
        locked = _locked(problem)
        if locked.status == ProblemStatus.CLOSED:
            raise ProblemRefused(_("The problem is already closed."))
        if verified and locked.close_proposed_at is None:
            raise ProblemRefused(
                _("Closing as verified needs a significant fall of the share (closure proposed).")
            )
        now = timezone.now()
        was = locked.status
        locked.status, locked.closed_at, locked.closed_by = ProblemStatus.CLOSED, now, by
        locked.closed_verified = verified
        _save(
            locked, "closed", by=by, fields=["status", "closed_at", "closed_by", "closed_verified"],
            old=was, verified=verified, late=now > locked.deadline, note=note,
        )  # fmt: skip
        findings = []
        if now > locked.deadline:
            findings.append(
                _("Closed after its deadline (%(deadline)s).")
                % {"deadline": timezone.localtime(locked.deadline).strftime("%Y-%m-%d %H:%M %Z")}
            )
        if not verified:
            findings.append(_("Closed without a verified fall of the detractor share."))
        if findings:
            accountability_record_automatic(locked, finding=" ".join(findings))
    problem.refresh_from_db()


def accountability_record_automatic(problem: Problem, *, finding: str) -> bool:
    """The automatic entry for a problem, at most once (the partial unique constraint
    accountability_auto_once decides, also between concurrent closings)."""
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the closing intact
            AccountabilityEntry.objects.create(
                problem=problem,
                unit_id=problem.responsible_unit_id,
                person_id=problem.owner_id,
                finding=finding,
            )
    except IntegrityError:
        return False
    problem_event_record(problem, "accountability", finding=finding)
    return True


def problem_reopen(problem: Problem, *, by: User, note: str = "") -> None:
    """closed -> rectifying: the fix did not last; verification starts over."""
    with transaction.atomic():
        locked = _locked(problem)
        if locked.status != ProblemStatus.CLOSED:
            raise ProblemRefused(_("Only a closed problem can be reopened."))
        locked.status = ProblemStatus.RECTIFYING
        locked.closed_at = locked.closed_by = locked.closed_verified = None
        locked.close_proposed_at = locked.fixed_at = None
        fields = ["status", "closed_at", "closed_by", "closed_verified"]
        _save(
            locked, "reopened", by=by, fields=[*fields, "close_proposed_at", "fixed_at"],
            note=note,
        )  # fmt: skip
    problem.refresh_from_db()


def case_typical_set(case: Case, *, by: User, typical: bool, note: str = "") -> bool:
    """Mark (or unmark) a case as a typical case for the reports; a history line when it
    changes. False when nothing changed."""
    with transaction.atomic():
        changed = Case.objects.filter(pk=case.pk).exclude(typical=typical, typical_note=note)
        if not changed.update(typical=typical, typical_note=note):
            return False
        case_event_record(case_id=case.pk, kind="typical", actor=by, typical=typical, note=note)
    case.typical, case.typical_note = typical, note
    return True


def accountability_record(entry: AccountabilityEntry, *, by: User) -> AccountabilityEntry:
    """An entry a person writes (the quality department's findings): saved with who wrote it,
    and a line in the problem's history when it concerns one."""
    with transaction.atomic():
        entry.created_by = by
        entry.save()
        if entry.problem is not None:
            problem_event_record(entry.problem, "accountability", actor=by, finding=entry.finding)
    return entry
