"""The admin: every page answers, searches find by phone, cases show and assign."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.assignment import case_assign
from followups.models import (
    AccountabilityEntry,
    Agent,
    Case,
    CaseEvent,
    CaseStatus,
    DigestDelivery,
    Holiday,
    Priority,
    Problem,
    RoutingRule,
    ServiceStandard,
    Team,
)
from followups.problems import problem_open
from surveys.admin.surveys import SurveyForm
from surveys.models import (
    Category,
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    DeliveryReceipt,
    GatewayPrice,
    GatewayTemplate,
    InboundMessage,
    Interaction,
    InteractionImport,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    ReasonCategory,
    RecategorisationRun,
    Response,
    Survey,
    SurveyText,
    TierThresholds,
    Unit,
    UnitCode,
    UnitKind,
)
from surveys.smslength import sms_length

MODELS: list[type[Model]] = [
    Customer, Interaction, Survey, Invitation, InboundMessage, DeliveryReceipt, Response,
    OutboundMessage, ReasonCategory, RecategorisationRun, Team, Agent, Case, RoutingRule, Holiday,
    DigestDelivery, ServiceStandard, TierThresholds, Contact, ContactPolicy, Unit, UnitCode,
    Problem, AccountabilityEntry, GatewayTemplate, GatewayPrice, InteractionImport,
]  # fmt: skip


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@dataclass
class World:
    customer: Customer
    invitation: Invitation
    response: Response
    team: Team
    agent: Agent
    case: Case


def detractor_case(phone: str, *, region: str = "BJ", score: int = 2, n: int = 0) -> Case:
    """A customer who answered a survey with a low score, and the case it opened."""
    customer = Customer.objects.create(phone=phone, name=f"Customer {n}", tier="A", region=region)
    interaction = Interaction.objects.create(
        external_id=f"CRM-{phone}",
        customer=customer,
        touchpoint="hotline",
        staff_id="E1001",
        staff_name="Li Wei",
        occurred_at=timezone.now() - timedelta(hours=3),
    )
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=customer,
        status=InvitationStatus.RESPONDED,
        gateway="console",
        provider_message_id=f"msg-{phone}",
        text="How likely are you to recommend us?",
        sent_at=timezone.now() - timedelta(hours=2),
    )
    response = Response.objects.create(
        invitation=invitation,
        customer=customer,
        interaction=interaction,
        score=score,
        category=Category.for_score(score),
        comment="Waited forty minutes on hold",
    )
    return Case.objects.create(
        response=response,
        customer=customer,
        priority=Priority.P1,
        sla_due_at=timezone.now() + timedelta(hours=4),
    )


@pytest.fixture
def world(db: Any) -> World:
    survey = Survey.objects.create(name="After-service NPS", touchpoints=["hotline"])
    SurveyText.objects.create(survey=survey, language="en", question="Score us 0-10")
    case = detractor_case("+8613800138000")
    invitation = case.response.invitation
    Invitation.objects.filter(pk=invitation.pk).update(survey=survey)
    InboundMessage.objects.create(
        gateway="console",
        gateway_message_id="in-1",
        phone="+8613800138000",
        text="2 Waited forty minutes on hold",
        payload={"from": "+8613800138000", "body": "2 Waited forty minutes on hold"},
        invitation=invitation,
    )
    DeliveryReceipt.objects.create(
        gateway="console",
        provider_message_id=invitation.provider_message_id,
        status=InvitationStatus.DELIVERED,
        payload={"id": invitation.provider_message_id, "status": "delivered"},
    )
    OutboundMessage.objects.create(
        customer=case.customer,
        invitation=invitation,
        kind=OutboundKind.FOLLOWUP_QUESTION,
        language="en",
        text="What is the main reason for your score?",
    )
    ReasonCategory.objects.get_or_create(code="network", defaults={"name_en": "Network"})
    RecategorisationRun.objects.create(total=1)
    DigestDelivery.objects.create(user=User.objects.create_user("lead"), date=timezone.localdate())
    team = Team.objects.create(name="Beijing callbacks", regions=["BJ", "TJ"])
    agent = Agent.objects.create(name="Zhang Min", team=team, capacity=5)
    RoutingRule.objects.create(order=10, touchpoint="store_own", team=team)
    Holiday.objects.create(date=date(2026, 10, 1), name="National Day")
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE)
    UnitCode.objects.create(code="ST-01", unit=store)
    GatewayTemplate.objects.create(gateway="console", kind="survey", language="zh-hans", code="1")
    GatewayPrice.objects.create(gateway="console", price_per_segment=Decimal("0.04"))
    ContactPolicy.current()
    Contact.objects.create(
        customer=case.customer, kind=ContactKind.CALLBACK, at=timezone.now(), source="case:1"
    )
    unit = Unit.objects.create(name="Beijing branch", kind=UnitKind.CITY)
    problem = problem_open(title="Long waits on hold", responsible_unit=unit, cases=[case])
    AccountabilityEntry.objects.create(problem=problem, unit=unit, finding="Closed late")
    InteractionImport.objects.create(file="/nowhere/store.csv", filename="store.csv")
    return World(case.customer, invitation, case.response, team, agent, case)


def test_every_model_of_the_project_is_registered() -> None:
    ours = {m for m in admin.site._registry if m._meta.app_label in ("surveys", "followups")}
    assert ours == set(MODELS)
    assert SurveyText not in admin.site._registry  # edited inline on its survey


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_answers_with_rows(
    admin_client: Client, world: World, model: type[Model]
) -> None:
    page = admin_client.get(url(model, "changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_change_page_answers(admin_client: Client, world: World, model: type[Model]) -> None:
    obj = model._default_manager.first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("typed", ["+8613800138000", "13800138000", "138 0013 8000"])
def test_invitation_search_by_phone_finds_the_customers_invitation(
    admin_client: Client, world: World, typed: str
) -> None:
    other = detractor_case("+8613900139000", n=1).response.invitation
    page = admin_client.get(url(Invitation, "changelist"), {"q": typed})
    found = list(page.context["cl"].result_list)
    assert found == [world.invitation]
    assert other not in found
    assert "+8613800138000" in page.content.decode()  # the number is shown in the results


def test_invitation_search_by_crm_id(admin_client: Client, world: World) -> None:
    page = admin_client.get(url(Invitation, "changelist"), {"q": "CRM-+8613800138000"})
    assert list(page.context["cl"].result_list) == [world.invitation]


def test_case_change_page_shows_response_customer_and_interaction(
    admin_client: Client, world: World
) -> None:
    page = admin_client.get(url(Case, "change", world.case.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 / 10" in html
    assert "+8613800138000" in html
    assert "Waited forty minutes on hold" in html
    assert "&lt;" not in html  # the blocks are HTML, not escaped text
    assert url(Response, "change", world.response.pk) in html
    assert url(Customer, "change", world.customer.pk) in html
    assert "CRM-+8613800138000" in html
    assert "Li Wei" in html


def test_case_state_is_read_only(admin_client: Client, world: World) -> None:
    form = admin_client.get(url(Case, "change", world.case.pk)).context["adminform"].form
    # priority too (it changes through its work form); only the typical-case mark is a field
    assert set(form.fields) == {"typical", "typical_note"}
    assert admin_client.get(url(Case, "add")).status_code == 403


def test_try_to_assign_now_assigns_to_the_team_covering_the_region(
    admin_client: Client, world: World
) -> None:
    Team.objects.create(name="Shanghai callbacks", regions=["SH"])
    Agent.objects.create(name="Elsewhere", team=Team.objects.get(name="Shanghai callbacks"))
    stranded = detractor_case("+8613900139000", region="XZ", n=1)  # no team covers XZ
    page = admin_client.post(
        url(Case, "changelist"),
        {"action": "try_assign", "_selected_action": [world.case.pk, stranded.pk]},
        follow=True,
    )
    world.case.refresh_from_db()
    assert world.case.agent == world.agent
    assert world.case.team == world.team
    assert world.case.status == CaseStatus.ASSIGNED
    assert world.case.assigned_at is not None
    stranded.refresh_from_db()
    assert stranded.agent is None
    assert stranded.status == CaseStatus.NEW
    notes = [str(m) for m in page.context["messages"]]
    assert notes == ["1 assigned, 1 still waiting for an agent."]


def test_assignment_filter_and_overdue_column(admin_client: Client, world: World) -> None:
    Case.objects.filter(pk=world.case.pk).update(sla_due_at=timezone.now() - timedelta(hours=1))
    waiting = admin_client.get(url(Case, "changelist"), {"assignment": "waiting"})
    assert list(waiting.context["cl"].result_list) == [world.case]
    assert ">Overdue</span>" in waiting.content.decode()  # overdue: due passed, still open
    assigned = admin_client.get(url(Case, "changelist"), {"assignment": "assigned"})
    assert assigned.context["cl"].result_count == 0


def test_case_changelist_has_no_n_plus_one(
    admin_client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    for n in range(1, 5):
        case = detractor_case(f"+861390013900{n}", n=n)
        Case.objects.filter(pk=case.pk).update(
            team=world.team, agent=world.agent, status=CaseStatus.ASSIGNED
        )
    assert Case.objects.count() == 5
    with django_assert_max_num_queries(12):
        page = admin_client.get(url(Case, "changelist"))
    assert page.context["cl"].result_count == 5


def test_inbound_messages_cannot_be_added_or_changed(admin_client: Client, world: World) -> None:
    message = InboundMessage.objects.get()
    assert admin_client.get(url(InboundMessage, "add")).status_code == 403
    page = admin_client.get(url(InboundMessage, "change", message.pk))
    assert page.status_code == 200
    assert "<pre" in page.content.decode()  # the raw payload, pretty-printed
    assert admin_client.post(url(InboundMessage, "change", message.pk), {}).status_code == 403
    for model in (DeliveryReceipt, Response, Invitation):
        assert admin_client.get(url(model, "add")).status_code == 403


def test_agent_list_shows_load_and_shift_without_n_plus_one(
    admin_client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    Case.objects.filter(pk=world.case.pk).update(agent=world.agent, status=CaseStatus.ASSIGNED)
    for n in range(4):
        Agent.objects.create(name=f"Agent {n}", team=world.team)
    with django_assert_max_num_queries(10):
        page = admin_client.get(url(Agent, "changelist"))
    assert sorted(a.open_load for a in page.context["cl"].result_list) == [0, 0, 0, 0, 1]
    assert "all day" in page.content.decode()
    assert page.context["cl"].list_editable == ()  # availability goes through the service


def test_mark_away_hands_the_agents_open_cases_back_and_mark_back_returns(
    admin_client: Client, world: World
) -> None:
    Case.objects.filter(pk=world.case.pk).update(agent=world.agent, status=CaseStatus.ASSIGNED)
    selected = {"_selected_action": [world.agent.pk]}
    page = admin_client.post(
        url(Agent, "changelist"), {"action": "mark_away", **selected}, follow=True
    )
    world.agent.refresh_from_db()
    world.case.refresh_from_db()
    assert world.agent.is_available is False
    assert (world.case.status, world.case.agent) == (CaseStatus.NEW, None)
    assert [str(m) for m in page.context["messages"]] == [
        "1 agent(s) marked away. 1 open case handed back for reassignment."
    ]
    admin_client.post(url(Agent, "changelist"), {"action": "mark_back", **selected})
    world.agent.refresh_from_db()
    assert world.agent.is_available is True


def test_unticking_available_on_the_agent_page_hands_back_open_cases(
    admin_client: Client, world: World
) -> None:
    Case.objects.filter(pk=world.case.pk).update(agent=world.agent, status=CaseStatus.ASSIGNED)
    data = {"name": "Zhang Min", "team": world.team.pk, "capacity": "5"}
    data |= {"time_zone": "Asia/Shanghai", "work_days": ["0", "1", "2", "3", "4"]}
    data |= {"shift_start": "09:00", "shift_end": "18:00"}  # is_available unticked
    assert admin_client.post(url(Agent, "change", world.agent.pk), data).status_code == 302
    world.agent.refresh_from_db()
    assert (world.agent.is_available, world.agent.work_days) == (False, [0, 1, 2, 3, 4])
    world.case.refresh_from_db()
    assert (world.case.status, world.case.agent) == (CaseStatus.NEW, None)
    event = CaseEvent.objects.get(case=world.case, kind="unassigned")
    assert event.actor.username == "admin"


def test_routing_rules_show_any_for_empty_conditions_and_edit_order_in_the_list(
    admin_client: Client, world: World
) -> None:
    rule = RoutingRule.objects.get()
    page = admin_client.get(url(RoutingRule, "changelist"))
    html = page.content.decode()
    assert "the first active rule whose conditions all hold" in html
    assert html.count(">any<") == 2  # region and tier; the touchpoint is set
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(rule.pk)}
    data |= {"form-0-order": "5", "form-0-is_active": "on", "_save": "Save"}
    assert admin_client.post(url(RoutingRule, "changelist"), data).status_code == 302
    rule.refresh_from_db()
    assert rule.order == 5


def test_customer_opt_out_and_back_in_actions(admin_client: Client, world: World) -> None:
    changelist = url(Customer, "changelist")
    selected = {"_selected_action": [world.customer.pk]}
    confirm = admin_client.post(changelist, {"action": "mark_opted_out", **selected})
    assert confirm.status_code == 200  # a confirmation page first
    world.customer.refresh_from_db()
    assert world.customer.opted_out_at is None
    applied = {"apply": "1", "reason": "", **selected}
    page = admin_client.post(changelist, {"action": "mark_opted_out", **applied}, follow=True)
    world.customer.refresh_from_db()
    assert world.customer.opted_out_at is not None
    assert [str(m) for m in page.context["messages"]] == ["1 customer(s) marked opted out."]
    back_in = applied | {"action": "opt_back_in", "reason": "Asked on the hotline on 30 Nov"}
    admin_client.post(changelist, back_in)
    world.customer.refresh_from_db()
    assert world.customer.opted_out_at is None


def test_customer_phone_is_stored_as_e164(admin_client: Client, db: Any) -> None:
    data = {"phone": "139 0013 9000", "name": "", "tier": "B", "region": "SH"}
    data |= {"language": "zh-hans", "time_zone": "Asia/Shanghai", "opted_out_at_0": ""}
    assert admin_client.post(url(Customer, "add"), data).status_code == 302
    assert Customer.objects.get().phone == "+8613900139000"
    duplicate = admin_client.post(url(Customer, "add"), data | {"phone": "+86 139-0013-9000"})
    assert duplicate.status_code == 200  # the same number, written differently
    assert Customer.objects.count() == 1


def test_team_regions_are_typed_as_a_list(admin_client: Client, db: Any) -> None:
    data = {"name": "South", "regions": "GD, GX ,HI", "policy": "least_loaded"}
    data |= {"time_zone": "Asia/Shanghai", "work_days": ["0", "1", "2", "3", "4"]}
    data |= {"day_start": "08:00", "day_end": "20:00"}
    for inline in ("rules", "holidays", "agents"):
        data |= {f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"}
    assert admin_client.post(url(Team, "add"), data).status_code == 302
    assert Team.objects.get().regions == ["GD", "GX", "HI"]
    page = admin_client.get(url(Team, "change", Team.objects.get().pk))
    assert 'value="GD, GX, HI"' in page.content.decode()


def test_survey_page_shows_sms_length_of_each_text(admin_client: Client, world: World) -> None:
    page = admin_client.get(url(Survey, "change", Survey.objects.get().pk))
    # "Score us 0-10" plus " Reply STOP to opt out", as it will be sent
    assert "GSM-7 · 35 characters · 1 SMS" in page.content.decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 0)),
        ("a" * 160, ("GSM-7", 160, 1)),
        ("a" * 161, ("GSM-7", 161, 2)),
        ("a" * 306, ("GSM-7", 306, 2)),
        ("a" * 307, ("GSM-7", 307, 3)),
        ("€" * 80, ("GSM-7", 160, 1)),  # extension characters take two places
        ("a" * 150 + "€" * 5, ("GSM-7", 160, 1)),
        ("a" * 152 + "€" + "a" * 152, ("GSM-7", 306, 3)),  # ... and never straddle two parts
        ("您" * 70, ("UCS-2", 70, 1)),
        ("您" * 71, ("UCS-2", 71, 2)),
        ("您" * 134, ("UCS-2", 134, 2)),
        ("您" * 135, ("UCS-2", 135, 3)),
        ("a" * 69 + "é", ("GSM-7", 70, 1)),
        ("a" * 69 + "ç", ("UCS-2", 70, 1)),  # ç is not in GSM-7 (only Ç is)
        ("Hi 😀", ("UCS-2", 5, 1)),
    ],
)
def test_sms_length(text: str, expected: tuple[str, int, int]) -> None:
    assert sms_length(text) == expected


def test_a_second_default_route_is_refused_with_a_clear_message(admin_client: Client) -> None:
    Team.objects.create(name="National", is_default_route=True)
    form = {
        "name": "Also national",
        "regions": "",
        "is_default_route": "on",
        "policy": "least_loaded",
        "time_zone": "Asia/Shanghai",
        "work_days": ["0", "1", "2", "3", "4"],
        "day_start": "08:00",
        "day_end": "20:00",
        **{f"{prefix}-{k}": v for prefix in ("rules", "holidays", "agents")
           for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    }  # fmt: skip
    page = admin_client.post(url(Team, "add"), form)
    assert page.status_code == 200
    assert "Another team is already the default route: untick it there first." in (
        page.content.decode()
    )
    assert not Team.objects.filter(name="Also national").exists()
    form["is_default_route"] = ""
    assert admin_client.post(url(Team, "add"), form).status_code == 302
    assert Team.objects.get(name="Also national").is_default_route is False


def test_supervisors_find_unrouted_cases_in_their_own_list(
    admin_client: Client, world: World
) -> None:
    assert case_assign(case_id=world.case.pk) == world.agent
    stranded = detractor_case("+8613900139000", region="XZ", n=1)  # no team covers XZ
    assert case_assign(case_id=stranded.pk) is None
    page = admin_client.get(url(Case, "changelist"), {"assignment": "unrouted"})
    assert list(page.context["cl"].result_list) == [stranded]


def test_survey_maximum_age_is_edited_in_the_admin(admin_client: Client, world: World) -> None:
    survey = Survey.objects.get()
    page = admin_client.get(url(Survey, "change", survey.pk)).content.decode()
    assert 'name="max_age_hours" value="72"' in page
    form = SurveyForm(data={**model_to_dict(survey), "max_age_hours": 24}, instance=survey)
    assert form.is_valid(), form.errors
    form.save()
    assert Survey.objects.get().max_age_hours == 24


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31"])
def test_an_interaction_added_in_the_admin_must_have_a_plausible_date(
    admin_client: Client, world: World, day: str
) -> None:
    form = {
        "external_id": "ADMIN-1", "customer": world.customer.pk, "touchpoint": "hotline",
        "occurred_at_0": day, "occurred_at_1": "23:00:00",
    }  # fmt: skip
    answer = admin_client.post(url(Interaction, "add"), form)
    assert answer.status_code == 200  # the form again, with the error
    assert "occurred_at" in answer.context["adminform"].form.errors["occurred_at"][0]
    assert not Interaction.objects.filter(external_id="ADMIN-1").exists()
