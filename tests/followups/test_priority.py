"""Changing a case's priority: team leads and supervisors, with a reason, in the history."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from followups.models import Case, CaseStatus, Priority
from followups.sla import sla_due_times
from followups.workflow import case_priority_change
from surveys.models import Response
from tests.followups.personas import Personas, assigned_case, personas_make


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def case(people: Personas, detractor: Callable[..., Response]) -> Case:
    """Ann's case in North (tier B, score 2: P2), opened Monday 10:00."""
    return assigned_case(detractor)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(case: Case) -> str:
    return reverse("admin:followups_case_change", args=[case.pk])


def priority_url(case: Case) -> str:
    return reverse("admin:followups_case_priority", args=[case.pk])


def case_form_data(client: Client, case: Case, **fields: str) -> dict[str, Any]:
    """The case page's form as the browser posts it: the inlines' management fields, and ours."""
    page = client.get(change_url(case))
    data: dict[str, Any] = dict(fields)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
    return data


def test_an_agent_cannot_lower_the_priority_in_the_case_form(people: Personas, case: Case) -> None:
    ann = logged_in(people.agent)
    answer = ann.post(change_url(case), case_form_data(ann, case, priority="P3", _save="Save"))
    assert answer.status_code in (200, 302)
    case.refresh_from_db()
    assert case.priority == Priority.P2
    assert not case.events.filter(kind="priority_changed").exists()


def test_an_agent_is_refused_the_priority_form_and_not_offered_it(
    people: Personas, case: Case
) -> None:
    ann = logged_in(people.agent)
    assert ann.get(priority_url(case)).status_code == 403
    answer = ann.post(priority_url(case), {"priority": "P3", "reason": "Calm now"})
    assert answer.status_code == 403
    case.refresh_from_db()
    assert case.priority == Priority.P2
    assert priority_url(case) not in ann.get(change_url(case)).content.decode()


def test_a_team_lead_must_give_a_reason(people: Personas, case: Case) -> None:
    answer = logged_in(people.lead).post(priority_url(case), {"priority": "P3", "reason": " "})
    assert answer.status_code == 200
    assert answer.context["form"].errors["reason"]
    case.refresh_from_db()
    assert case.priority == Priority.P2
    assert not case.events.filter(kind="priority_changed").exists()


def test_a_team_lead_lowers_the_priority_with_a_reason_written_to_the_history(
    people: Personas, case: Case
) -> None:
    lena = logged_in(people.lead)
    assert priority_url(case) in lena.get(change_url(case)).content.decode()  # offered
    answer = lena.post(
        priority_url(case) + "?next=" + change_url(case),
        {"priority": "P3", "reason": "Customer called back, issue is minor"},
    )
    assert (answer.status_code, answer["Location"]) == (302, change_url(case))
    case.refresh_from_db()
    assert case.priority == Priority.P3
    event = case.events.get(kind="priority_changed")
    assert event.actor == people.lead
    assert event.detail["priority_from"] == "P2"
    assert event.detail["priority"] == "P3"
    assert event.detail["reason"] == "Customer called back, issue is minor"
    page = lena.get(change_url(case)).content.decode()
    assert "Priority changed" in page
    assert "P2 — high → P3 — normal · reason: Customer called back, issue is minor" in page


def test_a_supervisor_raises_the_priority_and_the_due_times_follow_from_the_opening(
    people: Personas, case: Case
) -> None:
    before = (case.sla_due_at, case.resolution_due_at)
    case_priority_change(
        case_id=case.pk, actor=people.supervisor, priority="P1", reason="Complained to the CEO"
    )
    case.refresh_from_db()
    expected = sla_due_times(
        priority="P1", tier=case.customer.tier, opened_at=case.opened_at, team=case.team
    )
    assert (case.sla_due_at, case.resolution_due_at) == expected
    assert case.sla_due_at < before[0]  # P1 is due sooner than P2
    first_contact_due = case.events.get(kind="priority_changed").detail["first_contact_due"]
    assert first_contact_due == [before[0].isoformat(), expected[0].isoformat()]


def test_the_service_refuses_an_agent_a_closed_case_and_the_same_priority(
    people: Personas, case: Case
) -> None:
    change = {"case_id": case.pk, "reason": "Because"}
    with pytest.raises(PermissionDenied):
        case_priority_change(actor=people.agent, priority="P3", **change)
    with pytest.raises(PermissionDenied):  # leads another team
        case_priority_change(actor=people.other_lead, priority="P3", **change)
    with pytest.raises(ValidationError):
        case_priority_change(actor=people.lead, priority="P2", **change)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED)
    with pytest.raises(ValidationError):
        case_priority_change(actor=people.lead, priority="P3", **change)
    case.refresh_from_db()
    assert case.priority == Priority.P2
