"""The problems admin: the list, the page with its verification, the move buttons and the
list actions; the case admin's typical-case mark and "open a problem"."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.models import (
    AccountabilityEntry,
    Case,
    CaseEvent,
    Problem,
    ProblemAction,
    ProblemEvent,
    ProblemStatus,
    StaffProfile,
)
from followups.permissions import roles_ensure
from followups.problems import (
    problem_action_add,
    problem_open,
    problem_rectified,
    problem_rectifying_start,
    problem_verification_record,
)
from followups.roles import SUPERVISORS
from surveys.admin.badges import RED, badge
from surveys.models import Response, Unit, UnitKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def sue(db: Any) -> User:
    """Sue supervises (and administers) everything; she reads times in Urumqi."""
    roles_ensure()
    user = User.objects.create_superuser("sue", email="sue@example.com", password="pw")
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    StaffProfile.objects.create(user=user, time_zone="Asia/Urumqi")
    return user


@pytest.fixture
def client_sue(client: Client, sue: User) -> Client:
    client.post(reverse("admin:login"), {"username": "sue", "password": "pw"})
    return client


@pytest.fixture
def store(db: Any) -> Unit:
    return Unit.objects.create(name="Store 1", kind=UnitKind.STORE)


def case_make(response: Response, unit: Unit | None) -> Case:
    return Case.objects.create(
        response=response, customer=response.customer, priority="P2",
        sla_due_at=timezone.now() + timedelta(hours=2), unit=unit,
    )  # fmt: skip


def change_url(problem: Problem) -> str:
    return reverse("admin:followups_problem_change", args=[problem.pk])


def move(client: Client, problem: Problem, step: str) -> Any:
    url = reverse("admin:followups_problem_move", args=[problem.pk, step])
    return client.post(url, follow=True)


def test_the_list_marks_overdue_problems_and_filters_them(client_sue: Client, store: Unit) -> None:
    late = problem_open(
        title="Late one", responsible_unit=store, deadline=timezone.now() - timedelta(days=1)
    )
    problem_open(
        title="On time", responsible_unit=store, deadline=timezone.now() + timedelta(days=1)
    )
    page = client_sue.get(reverse("admin:followups_problem_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count(str(badge("Overdue", RED))) == 1
    assert "(Asia/Urumqi)" in html  # column headings name the reader's zone
    filtered = client_sue.get(reverse("admin:followups_problem_changelist"), {"overdue": "yes"})
    assert list(filtered.context["cl"].result_list) == [late]


def test_the_page_shows_the_verification_and_the_proposed_closure(
    client_sue: Client, sue: User, store: Unit
) -> None:
    problem = problem_open(title="Weak signal", responsible_unit=store)
    problem_rectifying_start(problem, by=sue)
    problem_rectified(problem, by=sue)
    problem_verification_record(
        problem, before=(12, 40), after=(3, 40), p_value=0.00497, significant=True
    )
    html = client_sue.get(change_url(problem)).content.decode()
    assert "30.0% (12 / 40)" in html
    assert "7.5% (3 / 40)" in html
    assert "0.0050" in html
    assert "Closure proposed" in html
    assert "Confirm closure (verified)" in html


def test_the_buttons_move_the_problem_and_refuse_what_its_status_forbids(
    client_sue: Client, sue: User, store: Unit
) -> None:
    problem = problem_open(title="Weak signal", responsible_unit=store)
    page = move(client_sue, problem, "rectified")  # not rectifying yet
    assert "cannot become" in page.content.decode()
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN
    move(client_sue, problem, "rectifying")
    move(client_sue, problem, "rectified")
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.VERIFYING
    assert problem.fixed_at is not None
    page = move(client_sue, problem, "close_verified")  # nothing proposed yet
    assert "needs a significant fall" in page.content.decode()
    move(client_sue, problem, "close_unverified")
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.CLOSED
    assert problem.closed_by == sue
    assert AccountabilityEntry.objects.filter(problem=problem).count() == 1
    move(client_sue, problem, "reopen")
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.RECTIFYING


def test_the_list_action_starts_rectifying_the_open_ones(
    client_sue: Client, sue: User, store: Unit
) -> None:
    first = problem_open(title="One", responsible_unit=store)
    second = problem_open(title="Two", responsible_unit=store)
    problem_rectifying_start(second, by=sue)
    page = client_sue.post(
        reverse("admin:followups_problem_changelist"),
        {"action": "start_rectifying", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "1 changed, 1 refused" in page.content.decode()
    first.refresh_from_db()
    assert first.status == ProblemStatus.RECTIFYING


def test_saving_the_page_records_the_change_and_adds_an_action(
    client_sue: Client, store: Unit
) -> None:
    problem = problem_open(title="Weak signal", responsible_unit=store)
    form = client_sue.get(change_url(problem)).context["adminform"].form
    deadline = timezone.localtime(
        problem.deadline, timezone.get_fixed_timezone(360)
    )  # Urumqi: UTC+6
    data = {
        "title": "Weak signal at Store 1", "responsible_unit": store.pk,
        "deadline_0": deadline.strftime("%Y-%m-%d"), "deadline_1": deadline.strftime("%H:%M:%S"),
        "plan": "Add a cell site", "touchpoint": "", "region": "",
        "actions-TOTAL_FORMS": "1", "actions-INITIAL_FORMS": "0",
        "actions-0-text": "Survey the area", "actions-0-problem": problem.pk,
        "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1",
    }  # fmt: skip
    assert "title" in form.fields
    page = client_sue.post(change_url(problem), data, follow=True)
    assert page.status_code == 200
    problem.refresh_from_db()
    assert problem.title == "Weak signal at Store 1"
    assert problem.plan == "Add a cell site"
    changed = ProblemEvent.objects.get(problem=problem, kind="changed")
    assert changed.detail == {"fields_changed": ["plan", "title"]}
    assert ProblemAction.objects.get(problem=problem).text == "Survey the area"
    assert ProblemEvent.objects.filter(problem=problem, kind="action_added").count() == 1


def test_cases_marked_typical_from_the_list_and_filtered(
    client_sue: Client, detractor: Callable[..., Response], store: Unit
) -> None:
    case = case_make(detractor(), store)
    other = case_make(detractor(phone="+8613900000001"), store)
    client_sue.post(
        reverse("admin:followups_case_changelist"),
        {"action": "mark_typical", "_selected_action": [case.pk]},
    )
    case.refresh_from_db()
    assert case.typical
    assert CaseEvent.objects.filter(case=case, kind="typical").count() == 1
    page = client_sue.get(reverse("admin:followups_case_changelist"), {"typical__exact": "1"})
    assert list(page.context["cl"].result_list) == [case]
    assert other not in page.context["cl"].result_list


def test_a_problem_opened_from_selected_cases_opens_its_page(
    client_sue: Client, detractor: Callable[..., Response], store: Unit, sue: User
) -> None:
    cases = [case_make(detractor(phone=f"+861390000000{n}"), store) for n in range(2)]
    page = client_sue.post(
        reverse("admin:followups_case_changelist"),
        {"action": "open_problem", "_selected_action": [c.pk for c in cases]},
    )
    problem = Problem.objects.get()
    assert page.status_code == 302
    assert page["Location"] == change_url(problem)
    assert set(problem.cases.all()) == set(cases)
    assert problem.responsible_unit == store
    assert problem.opened_by == sue


def test_an_accountability_entry_by_hand_records_who_wrote_it(
    client_sue: Client, sue: User, store: Unit
) -> None:
    problem = problem_open(title="Weak signal", responsible_unit=store)
    page = client_sue.post(
        reverse("admin:followups_accountabilityentry_add"),
        {
            "problem": problem.pk,
            "unit": store.pk,
            "finding": "Plan never written",
            "measure": "Warning",
        },
        follow=True,
    )
    assert page.status_code == 200
    entry = AccountabilityEntry.objects.get()
    assert entry.created_by == sue
    assert ProblemEvent.objects.filter(problem=problem, kind="accountability").count() == 1
    assert (
        client_sue.get(reverse("admin:followups_accountabilityentry_changelist")).status_code == 200
    )


def test_a_unit_owner_sees_only_the_problems_of_their_units(client: Client, store: Unit) -> None:
    roles_ensure()
    owner = User.objects.create_user("olga", password="pw", is_staff=True)
    owner.user_permissions.add(Permission.objects.get(codename="view_problem"))
    store.owners.add(owner)
    other = Unit.objects.create(name="Store 2", kind=UnitKind.STORE)
    mine = problem_open(title="Mine", responsible_unit=store)
    problem_open(title="Theirs", responsible_unit=other)
    client.force_login(owner)
    page = client.get(reverse("admin:followups_problem_changelist"))
    assert list(page.context["cl"].result_list) == [mine]


def management_forms(page: Any) -> dict[str, Any]:
    """The inline formsets' management data, as the page rendered it."""
    data: dict[str, Any] = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
    return data


def test_the_case_page_saves_the_typical_case_mark(
    client_sue: Client, detractor: Callable[..., Response], store: Unit
) -> None:
    case = case_make(detractor(), store)
    url = reverse("admin:followups_case_change", args=[case.pk])
    data = {**management_forms(client_sue.get(url)), "typical": "on", "typical_note": "Lost calls"}
    assert client_sue.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.typical
    assert case.typical_note == "Lost calls"
    assert CaseEvent.objects.get(case=case, kind="typical").detail == {
        "typical": True, "note": "Lost calls",
    }  # fmt: skip


def test_an_action_marked_done_on_the_page_is_done_once(
    client_sue: Client, sue: User, store: Unit
) -> None:
    problem = problem_open(title="Weak signal", responsible_unit=store)
    action = problem_action_add(problem, by=sue, text="Survey the area")
    url = change_url(problem)
    page = client_sue.get(url)
    deadline = timezone.localtime(problem.deadline, timezone.get_fixed_timezone(360))
    data = {
        **management_forms(page), "title": problem.title, "responsible_unit": store.pk,
        "deadline_0": deadline.strftime("%Y-%m-%d"), "deadline_1": deadline.strftime("%H:%M:%S"),
        "actions-0-id": action.pk, "actions-0-problem": problem.pk,
        "actions-0-text": action.text, "actions-0-mark_done": "on",
    }  # fmt: skip
    assert client_sue.post(url, data).status_code == 302
    action.refresh_from_db()
    assert action.done_at is not None
    assert ProblemEvent.objects.filter(problem=problem, kind="action_done").count() == 1
