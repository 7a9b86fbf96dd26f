"""An agent's "My cases" and the case pages: the order of work, and one click to work a case."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.models import Case, CaseStatus
from followups.queries import cases_assigned_to
from followups.workflow import case_attempt_log, case_mark_unreachable, case_resolve, case_start
from surveys.models import ReasonCategory, Response
from tests.followups.personas import MONDAY_10, Personas, assigned_case, personas_make

S = CaseStatus
NOW = MONDAY_10 + timedelta(hours=3)
MINE = reverse("admin:followups_case_mine")


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """The agent looks at her list three hours after the cases were opened."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def ann(people: Personas, client: Client) -> Client:
    """Ann, North's agent, logged in to the admin."""
    client.force_login(people.agent)
    return client


@pytest.fixture
def cause(db: Any) -> ReasonCategory:
    return ReasonCategory.objects.get_or_create(
        code="network", defaults={"name_en": "Network", "name_zh": "网络"}
    )[0]


@pytest.fixture
def make_case(people: Personas, detractor: Callable[..., Response]) -> Callable[..., Case]:
    phones = iter(f"+86139000001{n:02d}" for n in range(100))

    def make(region: str = "BJ") -> Case:
        return assigned_case(detractor, phone=next(phones), region=region)

    return make


def due(case: Case, *, hours: float, contacted: bool, agent: Any) -> Case:
    """Set the case's due times `hours` from now (test data: the SLA module computes real ones)."""
    if contacted:
        case_attempt_log(case_id=case.pk, actor=agent, channel="phone", outcome="reached")
    moment = timezone.now() + timedelta(hours=hours)
    # The first-contact due time of a contacted case is long past: it must not count.
    contact_due = timezone.now() - timedelta(days=2) if contacted else moment
    Case.objects.filter(pk=case.pk).update(sla_due_at=contact_due, resolution_due_at=moment)
    return case


def row_ids(page: Any) -> list[int]:
    return [card.case.pk for card in page.context["cards"]]


def test_my_cases_lists_open_cases_overdue_first_then_by_due_time(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    agent = people.agent
    later = due(make_case(), hours=3, contacted=False, agent=agent)
    soon = due(make_case(), hours=1, contacted=True, agent=agent)
    late = due(make_case(), hours=-1, contacted=False, agent=agent)
    latest = due(make_case(), hours=-3, contacted=True, agent=agent)
    done = make_case()  # resolved: no longer work
    case_start(case_id=done.pk, actor=agent)
    case_resolve(case_id=done.pk, actor=agent, root_causes=[cause], action_taken="Fixed", note="ok")
    make_case(region="SH")  # Bob's
    page = ann.get(MINE)
    assert page.status_code == 200
    assert row_ids(page) == [latest.pk, late.pk, soon.pk, later.pk]
    assert [c.is_overdue for c in cases_assigned_to(agent)] == [True, True, False, False]
    html = page.content.decode()
    assert html.count('class="call-card urgency-overdue"') == 2
    assert html.count("overdue by ") == 2


def test_my_cases_answers_in_a_fixed_number_of_queries(
    people: Personas,
    ann: Client,
    make_case: Callable[..., Case],
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(6):
        make_case()
    # session, user, permissions (2), cases, their reasons, the customers' answers and
    # cases, the root causes offered: whatever the number of cases; and 2 for the admin
    # header's dashboard link (nps.dashboard.access: supervisor? lead?).
    with django_assert_max_num_queries(11):
        page = ann.get(MINE)
    assert len(page.context["cards"]) == 6


def test_an_agent_opening_the_case_list_lands_on_my_cases(
    people: Personas, ann: Client, client: Client
) -> None:
    changelist = reverse("admin:followups_case_changelist")
    assert ann.get(changelist).url == MINE
    assert ann.get(changelist, {"mine": "yes"}).status_code == 200  # the full list, hers only
    client.force_login(people.lead)
    page = client.get(changelist)
    assert page.status_code == 200
    assert f'href="{MINE}"' in page.content.decode()


def call_form_of(page: Any, case: Case) -> Any:
    return next(card.form for card in page.context["cards"] if card.case.pk == case.pk)


def test_my_cases_shows_what_the_call_needs_without_opening_the_case(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    earlier = make_case()
    case_start(case_id=earlier.pk, actor=people.agent)
    case_resolve(
        case_id=earlier.pk, actor=people.agent, root_causes=[cause], action_taken="a", note="b"
    )
    case = make_case()
    Case.objects.filter(pk=earlier.pk).update(customer=case.customer)
    Response.objects.filter(pk=case.response_id).update(comment="信号太差，经常断线")
    case.response.reasons.add(cause, through_defaults={"keyword": "信号"})
    page = ann.get(MINE)
    html = page.content.decode()
    card = page.context["cards"][0]
    assert card.case.pk == case.pk
    assert "2 / 10" in html
    assert "信号太差，经常断线" in html
    assert card.reasons == [str(cause)]
    assert f'href="tel:{case.customer.phone}"' in html
    assert "Tier B" in html or case.customer.get_tier_display() in html
    assert case.response.interaction.get_touchpoint_display() in html
    assert any(f"case #{earlier.pk}, Resolved" in line for line in card.earlier)
    assert card.due_in.startswith("overdue by ") or card.due_in.startswith("due in ")
    assert call_form_of(page, case).initial["root_causes"] == [cause.pk]


def test_one_call_form_logs_the_call_and_resolves_when_reached_and_solved(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    case = make_case()
    call = reverse("admin:followups_case_call", args=[case.pk])
    form = {
        "channel": "phone", "outcome": "reached", "note": "APN reset, data works",
        "solved": "on", "root_causes": [cause.pk], "action_taken": "Reset the APN",
    }  # fmt: skip
    page = ann.post(f"{call}?next={MINE}", form, follow=True)
    assert page.redirect_chain == [(MINE, 302)]
    assert [str(m) for m in page.context["messages"]] == [f"Call logged on case #{case.pk}."]
    assert row_ids(page) == []
    case.refresh_from_db()
    assert (case.status, case.action_taken, case.resolution_note) == (
        S.RESOLVED, "Reset the APN", "APN reset, data works",
    )  # fmt: skip
    assert list(case.root_causes.all()) == [cause]
    assert list(case.attempts.values_list("outcome", flat=True)) == ["reached"]
    assert case.first_contact_at == timezone.now()
    assert [e.kind for e in case.events.order_by("pk")][-3:] == ["attempt", "started", "resolved"]


def test_a_call_that_did_not_solve_the_problem_is_only_logged(
    people: Personas, ann: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    call = reverse("admin:followups_case_call", args=[case.pk])
    page = ann.post(call, {"channel": "phone", "outcome": "no_answer", "note": "Voicemail"})
    assert page.url == MINE
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS
    assert list(case.attempts.values_list("outcome", "note")) == [("no_answer", "Voicemail")]
    assert (case.first_attempt_at, case.first_contact_at) == (timezone.now(), None)


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({"outcome": "no_answer"}, {"solved"}),  # nobody reached: nothing can be solved
        ({"root_causes": []}, {"root_causes"}),
        ({"action_taken": ""}, {"action_taken"}),
    ],
)
def test_solving_on_the_call_form_needs_a_reached_customer_and_the_resolution(
    people: Personas,
    ann: Client,
    make_case: Callable[..., Case],
    cause: ReasonCategory,
    given: dict[str, Any],
    errors: set[str],
) -> None:
    case = make_case()
    form = {
        "channel": "phone", "outcome": "reached", "note": "ok", "solved": "on",
        "root_causes": [cause.pk], "action_taken": "Fixed",
    } | given  # fmt: skip
    page = ann.post(reverse("admin:followups_case_call", args=[case.pk]), form)
    assert page.status_code == 200
    assert set(page.context["form"].errors) == errors
    case.refresh_from_db()
    assert (case.status, case.attempts.count()) == (S.ASSIGNED, 0)  # neither call nor resolve


def test_resolve_form_resolves_with_several_root_causes(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    other = ReasonCategory.objects.get_or_create(
        code="billing_x", defaults={"name_en": "Billing", "name_zh": "账单"}
    )[0]
    case = make_case()
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="reached")
    resolve_url = reverse("admin:followups_case_resolve", args=[case.pk])
    form = {"root_causes": [cause.pk, other.pk], "action_taken": "Refund", "note": "ok"}
    assert ann.post(resolve_url, form).status_code == 302
    case.refresh_from_db()
    assert case.status == S.RESOLVED
    assert set(case.root_causes.all()) == {cause, other}


def test_resolve_form_shows_what_is_missing_and_changes_nothing(
    people: Personas, ann: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    case_start(case_id=case.pk, actor=people.agent)
    page = ann.post(reverse("admin:followups_case_resolve", args=[case.pk]), {"note": "x"})
    assert page.status_code == 200
    assert set(page.context["form"].errors) == {"root_causes", "action_taken"}
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS


def test_a_refused_move_is_shown_on_the_form(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    case = make_case()  # assigned: nobody reached the customer yet
    form = {"root_causes": [cause.pk], "action_taken": "Fixed", "note": "ok"}
    page = ann.post(reverse("admin:followups_case_resolve", args=[case.pk]), form)
    assert page.status_code == 200
    assert page.context["form"].non_field_errors() == [
        f"Case #{case.pk} cannot move from “Assigned” to “Resolved”."
    ]


def test_case_page_shows_attempts_and_readable_history_with_work_buttons(
    people: Personas, ann: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="sms", outcome="busy")
    page = ann.get(reverse("admin:followups_case_change", args=[case.pk]))
    html = page.content.decode()
    assert "Contact attempt" in html
    assert "Assigned → In progress" in html
    assert "channel: SMS · outcome: Busy" in html
    assert people.agent.username in html
    change = reverse("admin:followups_case_change", args=[case.pk])
    resolve = reverse("admin:followups_case_resolve", args=[case.pk])
    assert f'href="{resolve}?next={change.replace("/", "%2F")}"' in html
    # priority read-only for agents; an agent may mark their case typical for the reports
    assert set(page.context["adminform"].form.fields) == {"typical", "typical_note"}


def test_work_form_goes_back_to_the_page_it_came_from(
    people: Personas, ann: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    case = make_case()
    case_start(case_id=case.pk, actor=people.agent)
    case_resolve(
        case_id=case.pk, actor=people.agent, root_causes=[cause], action_taken="a", note="b"
    )
    change = reverse("admin:followups_case_change", args=[case.pk])
    reopen = reverse("admin:followups_case_reopen", args=[case.pk])
    page = ann.post(f"{reopen}?next={change}", {"reason": "Customer called again"})
    assert page.url == change
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS


def test_mark_in_progress_and_close_actions_call_the_services(
    people: Personas, client: Client, make_case: Callable[..., Case], cause: ReasonCategory
) -> None:
    client.force_login(people.lead)
    changelist = reverse("admin:followups_case_changelist")
    fresh, resolved = make_case(), make_case()
    case_start(case_id=resolved.pk, actor=people.agent)
    case_resolve(case_id=resolved.pk, actor=people.agent, root_causes=[cause], action_taken="a",
                 note="b")  # fmt: skip
    selected = {"_selected_action": [fresh.pk, resolved.pk]}
    page = client.post(changelist, {"action": "mark_in_progress", **selected}, follow=True)
    notes = [str(m) for m in page.context["messages"]]
    assert notes[0] == "1 case(s) marked in progress."
    assert notes[1] == f"Case #{resolved.pk} cannot move from “Resolved” to “In progress”."
    fresh.refresh_from_db()
    assert fresh.status == S.IN_PROGRESS


def test_closing_an_unreachable_case_from_its_page_asks_for_a_reason(
    people: Personas, client: Client, make_case: Callable[..., Case]
) -> None:
    client.force_login(people.lead)
    case = make_case()
    case_start(case_id=case.pk, actor=people.agent)
    case_mark_unreachable(case_id=case.pk, actor=people.agent, reason="Switched off")
    close = reverse("admin:followups_case_close", args=[case.pk])
    change = reverse("admin:followups_case_change", args=[case.pk])
    assert f'href="{close}?next=' in client.get(change).content.decode()
    refused = client.post(close, {"reason": "  "})
    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"] == ["This field is required."]
    case.refresh_from_db()
    assert case.status == S.UNREACHABLE
    client.post(close, {"reason": "Number out of service for a month"})
    case.refresh_from_db()
    assert (case.status, case.close_reason) == (S.CLOSED, "Number out of service for a month")
    assert case.events.last().actor == people.lead
