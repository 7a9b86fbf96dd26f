"""Holding, booking and handing over a case: services beside followups.workflow's moves.

Hold: an open case waiting for the customer (a callback later, a field visit) is put on
hold with a reason; while held it does not escalate, and on resume its SLA due times
still running are pushed by the business hours (of its team) spent on hold. Leaving the
open statuses ends a hold the same way (followups.workflow._move). Each ended hold adds
its real duration to Case.hold_total.

Appointment: a callback the customer booked, in the zone of the case's agent. Until the
customer is reached, first contact is due at the appointment (escalation counts from
there). The agent is emailed NPS_APPOINTMENT_REMINDER_MINUTES before it, once: the
reminder is claimed by a conditional update of appointment_reminded_at.

Transfer: to a named agent (the new owner must be able to take a case now, by
followups.assignment.agent_can_take, unless a lead or supervisor overrides with a
reason) or to another team's queue. Who may transfer what: followups.permissions.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from followups.assignment import agent_can_take_now, team_waiting_assign
from followups.escalation import case_link
from followups.history import case_event_record
from followups.models import OPEN_STATUSES, Agent, Case, CaseStatus, HoldReason, Team
from followups.permissions import can_override_transfer, can_transfer
from followups.sla import hold_ended
from followups.workflow import Actor, _iso, _locked, _write, required
from surveys.phones import mask_phone
from surveys.queue import task_queue

logger = logging.getLogger(__name__)

BATCH = 500  # reminders per run; the next run (a minute later) takes the rest


def _open(case: Case) -> None:
    if case.status not in OPEN_STATUSES:
        raise ValidationError(_("Only an open case can be changed this way."), code="closed")


# ---------------------------------------------------------------- hold


def case_hold(*, case_id: int, actor: Actor, reason: str, note: str = "") -> Case:
    """Put an open case on hold with a reason: its SLA clocks stop and it does not escalate."""
    required(reason=reason)
    if reason not in HoldReason.values:
        raise ValidationError({"reason": _("Choose a reason from the list.")}, code="invalid")
    note = note.strip()
    if reason == HoldReason.OTHER:
        required(note=note)
    with transaction.atomic():
        case = _locked(case_id)
        _open(case)
        if case.held_since is not None:
            raise ValidationError(_("The case is already on hold."), code="held")
        case.held_since, case.hold_reason, case.hold_note = timezone.now(), reason, note
        case.hold_count += 1
        case.save(update_fields=["held_since", "hold_reason", "hold_note", "hold_count"])
        case_event_record(case_id=case.pk, kind="held", actor=actor, hold_reason=reason, note=note)
    return case


def case_resume(*, case_id: int, actor: Actor, note: str = "") -> Case:
    """End the hold: due times still running move by the business hours spent on hold."""
    now = timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case.held_since is None:
            raise ValidationError(_("The case is not on hold."), code="not_held")
        held_since = case.held_since
        changes = hold_ended(case, at=now)
        _write(case, changes)
        case_event_record(
            case_id=case.pk,
            kind="resumed",
            actor=actor,
            note=note.strip(),
            on_hold_minutes=round((now - held_since).total_seconds() / 60),
            first_contact_due=_iso(case.sla_due_at),
            resolution_due=_iso(case.resolution_due_at),
        )
    return case


# ---------------------------------------------------------------- appointment


def appointment_zone(case: Case) -> str:
    """The zone a case's appointments are read and shown in: its agent's, else its team's."""
    if case.agent is not None:
        return case.agent.time_zone
    return case.team.time_zone if case.team is not None else settings.NPS_DEFAULT_TIME_ZONE


def appointment_local(case: Case) -> str:
    """The appointment as its agent reads it: "2026-11-23 19:00 (Asia/Shanghai)"."""
    if case.appointment_at is None:
        return ""
    zone = ZoneInfo(case.appointment_zone or settings.NPS_DEFAULT_TIME_ZONE)
    return f"{case.appointment_at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def case_appointment_book(*, case_id: int, actor: Actor, at: datetime, note: str = "") -> Case:
    """Record the callback the customer booked (`at` naive: in the agent's zone); first
    contact is due then, escalation counts from it, a reminder goes out before it."""
    required(at=at)
    with transaction.atomic():
        case = _locked(case_id)
        _open(case)
        zone = appointment_zone(case)
        if timezone.is_naive(at):
            at = at.replace(tzinfo=ZoneInfo(zone))
        if at <= timezone.now():
            raise ValidationError({"at": _("The appointment must be in the future.")})
        changes: dict[str, Any] = {
            "appointment_at": at,
            "appointment_zone": zone,
            "appointment_reminded_at": None,
        }
        if case.first_contact_at is None:  # the customer's time is the new first-contact due
            changes |= {"sla_due_at": at, "escalation_level": 0, "escalated_at": None}
        _write(case, changes)
        case_event_record(
            case_id=case.pk,
            kind="appointment_booked",
            actor=actor,
            appointment=appointment_local(case),
            note=note.strip(),
        )
    return case


def appointments_remind(*, now: datetime | None = None) -> int:
    """Email each agent whose booked callback is within the reminder lead time, once."""
    now = now or timezone.now()
    ahead = timedelta(minutes=settings.NPS_APPOINTMENT_REMINDER_MINUTES)
    due = Case.objects.filter(
        status__in=OPEN_STATUSES,
        appointment_reminded_at__isnull=True,
        appointment_at__gt=now,
        appointment_at__lte=now + ahead,
    ).select_related("agent__user", "customer")
    due = due.order_by("appointment_at")[:BATCH]
    return sum(appointment_remind(case=case, now=now) for case in due)


def appointment_remind(*, case: Case, now: datetime) -> bool:
    """Claim the case's reminder (a conditional update) and email its agent after commit."""
    user = case.agent.user if case.agent is not None else None
    recipient = user.email if user is not None and user.is_active else ""
    with transaction.atomic():
        claimed = Case.objects.filter(
            pk=case.pk, appointment_at=case.appointment_at, appointment_reminded_at__isnull=True
        )
        if not claimed.update(appointment_reminded_at=now):
            return False  # another run sent it, or the appointment moved meanwhile
        case_event_record(case_id=case.pk, kind="appointment_reminded", to=[recipient])
        transaction.on_commit(lambda: appointment_notify(case=case, recipient=recipient))
    return True


def appointment_notify(*, case: Case, recipient: str) -> None:
    """Send the reminder once; a failure is written to the history, not retried."""
    error = "no recipient" if not recipient else ""
    if recipient:
        try:
            appointment_message(case=case, recipient=recipient).send()
        except Exception as exc:  # any mail failure: record it, the reminder stays claimed
            logger.exception("appointment reminder for case %s failed", case.pk)
            error = str(exc)[:500]
    if error:
        case_event_record(case_id=case.pk, kind="appointment_reminder_not_sent", error=error)


def appointment_message(*, case: Case, recipient: str) -> EmailMultiAlternatives:

    with translation.override(settings.LANGUAGE_CODE):
        values = {"case": case.pk, "when": appointment_local(case)}
        subject = gettext("[NPS] Callback booked for %(when)s: case #%(case)s") % values
        body = "\n".join([
            gettext("The customer of case #%(case)s asked to be called at %(when)s.") % values,
            gettext("Customer: %(phone)s") % {"phone": mask_phone(case.customer.phone)},
            gettext("Open the case: %(link)s") % {"link": case_link(case.pk)},
        ])  # fmt: skip
    return EmailMultiAlternatives(subject=subject, body=body + "\n", to=[recipient])


# ---------------------------------------------------------------- transfer


def case_transfer(
    *,
    case_id: int,
    actor: User,
    reason: str,
    agent: Agent | None = None,
    team: Team | None = None,
    override_reason: str = "",
) -> Case:
    """Move an open case to a named agent who can take it now (or, overridden by a lead
    with a reason, one who cannot) or to another team's queue; recorded with its reason."""
    required(reason=reason)
    if agent is not None and team is not None and agent.team_id != team.pk:
        raise ValidationError({"agent": _("This agent is not in that team.")}, code="team")
    to_team = agent.team if agent is not None else team
    if to_team is None:  # neither an agent nor a team
        raise ValidationError({"agent": _("Choose an agent or a team.")}, code="required")
    override_reason, now = override_reason.strip(), timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        _open(case)
        if not can_transfer(actor, case, to_team_id=to_team.pk, named_agent=agent is not None):
            raise PermissionDenied
        if (agent and agent.pk == case.agent_id) or (not agent and to_team.pk == case.team_id):
            raise ValidationError(_("The case is there already."), code="unchanged")
        overridden = False
        if agent is not None and not agent_can_take_now(agent_id=agent.pk, now=now):
            if not override_reason or not can_override_transfer(actor, case, to_team_id=to_team.pk):
                raise ValidationError(
                    {"agent": _("This agent cannot take a case now (away, off shift or at "
                                "capacity); a team lead may override with a reason.")},
                    code="cannot_take",
                )  # fmt: skip
            overridden = True
        before = {"from_agent": str(case.agent or ""), "from_team": str(case.team or "")}
        freed_team = case.team_id if case.agent_id is not None else None
        changes: dict[str, Any] = {"team": to_team, "team_fixed": True, "agent": agent}
        if agent is not None:
            status = CaseStatus.ASSIGNED if case.status == CaseStatus.NEW else case.status
            changes |= {"status": status, "assigned_at": now}
        else:
            changes |= {"status": CaseStatus.NEW, "assigned_at": None}
        _write(case, changes)
        case_event_record(
            case_id=case.pk,
            kind="transferred",
            actor=actor,
            **before,
            agent=str(agent or ""),
            team=str(to_team),
            reason=reason.strip(),
            override_reason=override_reason if overridden else "",
        )
        if freed_team is not None:
            team_waiting_assign(team_id=freed_team)  # the old owner has a place again
        if agent is None:
            task_queue("followups.tasks.assign_case", case.pk)
    return case


def case_time_on_hold(case: Case, *, now: datetime) -> timedelta:
    """Real time the case spent on hold, its current hold (up to `now`) included.

    A hold stamp on a finished case (closed by a score correction, outside the workflow)
    no longer counts."""
    held_since = case.held_since if case.status in OPEN_STATUSES else None
    current = now - held_since if held_since is not None else timedelta()
    return case.hold_total + max(current, timedelta())
