"""Who sees and works which case: the role groups, the row rule, and the admin as a matrix."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client
from django.urls import reverse

from followups.models import Case, ContactAttempt
from followups.permissions import (
    CRM,
    REPORTING,
    can_edit_case,
    roles_ensure,
    sees_only_own_cases,
)
from followups.queries import cases_visible_to
from followups.roles import AGENTS, CONSENT_OFFICERS, SUPERVISORS, TEAM_LEADS
from surveys.models import Response
from tests.factories import AgentFactory, TeamFactory
from tests.followups.personas import Personas, assigned_case, personas_make, staff

AGENT_PERMS = {
    "followups.view_case", "followups.change_case", "followups.add_contactattempt",
    "followups.view_contactattempt", "followups.view_caseevent",
    "care.view_carecall", "care.change_carecall",  # the care calls given to them
}  # fmt: skip


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def case(people: Personas, detractor: Callable[..., Response]) -> Case:
    """Ann's case, in the North team."""
    return assigned_case(detractor)


def perms_of(role: str) -> set[str]:
    permissions = Group.objects.get(name=role).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


# ---------------------------------------------------------------- role groups


def test_roles_ensure_gives_each_group_its_model_permissions(db: Any) -> None:
    roles_ensure()
    roles_ensure()  # idempotent
    assert perms_of(AGENTS) == AGENT_PERMS
    assert perms_of(TEAM_LEADS) == AGENT_PERMS | {
        "followups.view_agent", "followups.view_team", "followups.change_priority",
        "care.view_campaign", "care.view_campaignmember", "care.view_segment",
        "care.view_campaignresult",
        # the problems of the units they own, their findings; the rules and their alerts
        "followups.view_problem", "followups.view_problemaction", "followups.view_problemevent",
        "followups.view_accountabilityentry", "nps.view_alertrule", "nps.view_alert",
        "nps.change_alert",
    }  # fmt: skip
    supervisor = perms_of(SUPERVISORS)
    for model in ("case", "contactattempt", "caseevent", "team", "agent", "routingrule"):
        assert {f"followups.{verb}_{model}" for verb in ("add", "change", "delete", "view")} <= (
            supervisor
        )
    assert {p for p in supervisor if p.startswith("surveys.")} == {
        "surveys.view_response", "surveys.view_customer", "surveys.view_interaction",
        "surveys.view_invitation", "surveys.view_consentchange", "surveys.view_contact",
        "surveys.view_unit", "surveys.add_unit", "surveys.change_unit",  # not delete: PROTECT
        "surveys.view_unitcode", "surveys.add_unitcode", "surveys.change_unitcode",
        "surveys.delete_unitcode",
    }  # fmt: skip
    assert "followups.change_priority" in supervisor
    for model in ("segment", "campaign", "poolpolicy", "riskmodel", "preferencefeature"):
        assert {f"care.{verb}_{model}" for verb in ("add", "change", "delete", "view")} <= (
            supervisor
        )
    assert {p for p in supervisor if p.startswith("nps.")} == {
        "nps.view_webhooksubscription", "nps.add_webhooksubscription",
        "nps.change_webhooksubscription", "nps.delete_webhooksubscription",
        "nps.view_webhookdelivery", "nps.change_webhookdelivery",
        *(f"nps.{verb}_{model}" for verb in ("view", "add", "change", "delete")
          for model in ("target", "alertrule", "reportsubscription")),
        "nps.view_alert", "nps.change_alert", "nps.view_report",
    }  # fmt: skip
    assert perms_of(CRM) == {"surveys.add_interaction", "followups.view_case"}
    assert perms_of(REPORTING) == {"surveys.view_response"}
    assert perms_of(CONSENT_OFFICERS) == {
        "surveys.view_customer", "surveys.view_consentchange", "surveys.change_consent",
    }  # fmt: skip


def test_migrate_creates_the_role_groups(db: Any) -> None:
    Group.objects.filter(name__in=[AGENTS, TEAM_LEADS, SUPERVISORS]).delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert perms_of(AGENTS) == AGENT_PERMS
    assert Group.objects.filter(name__in=[TEAM_LEADS, SUPERVISORS]).count() == 2


# ---------------------------------------------------------------- the row rule


def test_team_lead_also_sees_their_own_cases_as_agent(
    people: Personas, detractor: Callable[..., Response]
) -> None:
    west = TeamFactory(name="West", regions=["XZ"])
    AgentFactory(name="Leo", team=west, user=people.other_lead)  # Leo also takes West's calls
    norths = assigned_case(detractor)
    wests = assigned_case(detractor, phone="+8613900000002", region="XZ")
    assert wests.agent is not None
    assert wests.agent.user == people.other_lead
    assert set(cases_visible_to(people.other_lead)) == {wests}
    assert set(cases_visible_to(people.lead)) == {norths}


def test_staff_without_a_role_or_a_row_sees_no_case(people: Personas, case: Case) -> None:
    nobody = User.objects.create_user("nina", is_staff=True)
    assert list(cases_visible_to(nobody)) == []
    assert can_edit_case(nobody, case) is False


def test_only_a_plain_agent_is_sent_to_their_work_list(people: Personas) -> None:
    assert sees_only_own_cases(people.agent) is True
    for user in (people.lead, people.supervisor, staff("nina", AGENTS)):
        assert sees_only_own_cases(user) is False


# ---------------------------------------------------------------- the admin, as a matrix

PERSONAS = ("anonymous", "agent", "other_agent", "lead", "other_lead", "supervisor")
MATRIX = {
    #                changelist  change page   My cases      log attempt
    "anonymous":   ("login",    "login",      "login",      "login"),
    "agent":       ("shown",    "opens",      "listed",     "allowed"),
    "other_agent": ("hidden",   "redirected", "not listed", "forbidden"),
    "lead":        ("shown",    "opens",      "not listed", "allowed"),
    "other_lead":  ("hidden",   "redirected", "not listed", "forbidden"),
    "supervisor":  ("shown",    "opens",      "not listed", "allowed"),
}  # fmt: skip
OPERATIONS = ("changelist", "change page", "My cases", "log attempt")


def login_redirect(page: Any) -> bool:
    return page.status_code == 302 and page.url.startswith(reverse("admin:login"))


def changelist(client: Client, case: Case) -> str:
    page = client.get(reverse("admin:followups_case_changelist"), {"q": ""})
    if login_redirect(page):
        return "login"
    return "shown" if case in page.context["cl"].result_list else "hidden"


def change_page(client: Client, case: Case) -> str:
    page = client.get(reverse("admin:followups_case_change", args=[case.pk]))
    if login_redirect(page):
        return "login"
    if page.status_code == 302:  # the admin's answer for a row outside get_queryset
        assert page.url == reverse("admin:index")
        return "redirected"
    assert page.status_code == 200
    return "opens"


def my_cases(client: Client, case: Case) -> str:
    page = client.get(reverse("admin:followups_case_mine"))
    if login_redirect(page):
        return "login"
    return "listed" if case in [card.case for card in page.context["cards"]] else "not listed"


def log_attempt(client: Client, case: Case) -> str:
    before = ContactAttempt.objects.filter(case=case).count()
    url = reverse("admin:followups_case_attempt", args=[case.pk])
    page = client.post(url, {"channel": "phone", "outcome": "no_answer", "note": ""})
    logged = ContactAttempt.objects.filter(case=case).count() - before
    if login_redirect(page):
        assert logged == 0
        return "login"
    if page.status_code == 403:
        assert logged == 0
        return "forbidden"
    assert (page.status_code, logged) == (302, 1)
    return "allowed"


OPERATE = dict(zip(OPERATIONS, (changelist, change_page, my_cases, log_attempt), strict=True))


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(
    people: Personas, case: Case, client: Client, persona: str, operation: str
) -> None:
    if persona != "anonymous":
        client.force_login(getattr(people, persona))
    expected = MATRIX[persona][OPERATIONS.index(operation)]
    assert OPERATE[operation](client, case) == expected
