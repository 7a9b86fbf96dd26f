"""The admin is the product: its name in each language, a way to the dashboard, and an
index that shows each role the models it works with (the plumbing to superusers only)."""

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from tests.followups.personas import Personas, personas_make


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


def client_for(user: User, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def index_models(user: User) -> set[str]:
    """The models the admin's index lists for this user, as `app.model`."""
    request = RequestFactory().get("/admin/")
    request.user = user
    return {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in admin.site.get_app_list(request)
        for model in app["models"]
    }


@pytest.mark.parametrize(
    ("language", "name", "title"),
    [("en", "NPS loop", "What you work with"), ("zh-hans", "NPS 闭环", "您的工作内容")],
)
def test_the_admin_carries_the_products_name_in_each_language(
    people: Personas, language: str, name: str, title: str
) -> None:
    root = User.objects.create_superuser("root", password="pw")
    html = client_for(root, language).get("/admin/").content.decode()

    assert f"<title>{title} | {name}</title>" in html
    assert f'<div id="site-name"><a href="/admin/">{name}</a></div>' in html
    assert "Django" not in html


def test_the_dashboard_link_is_in_the_admin_header_of_those_who_may_open_it(
    people: Personas,
) -> None:
    link = '<a href="/dashboard/" id="dashboard-link">NPS dashboard</a>'

    for user in (people.supervisor, people.lead):
        assert link in client_for(user).get("/admin/password_change/").content.decode()
    agent_page = client_for(people.agent).get("/admin/", follow=True).content.decode()
    assert 'id="site-name"' in agent_page
    assert 'id="dashboard-link"' not in agent_page
    assert "View site" not in agent_page  # "/" only led back to the admin


def test_the_dashboard_links_back_to_the_admin(people: Personas) -> None:
    html = client_for(people.supervisor).get("/dashboard/").content.decode()

    assert '<a href="/admin/">' in html


CASES = {"followups.case", "care.carecall"}  # an agent's callbacks and care calls
LEAD = CASES | {
    "followups.agent",
    "followups.team",
    "care.campaign",  # the campaigns their teams call for
    "care.campaignmember",
    "care.segment",
    "care.campaignresult",
    "followups.problem",  # the problems of the units they own, and the findings
    "followups.accountabilityentry",
    "nps.alertrule",  # the rules, and their units' alerts to acknowledge
    "nps.alert",
}
SUPERVISOR = LEAD | {
    "care.poolmember",  # all of customer care
    "care.poolpolicy",
    "care.riskmodel",
    "care.riskscore",
    "care.preferenceclass",
    "care.preferencefeature",
    "followups.routingrule",
    "followups.holiday",
    "followups.servicestandard",
    "surveys.unit",  # the unit tree and the CRM ids mapped to it
    "surveys.unitcode",
    "nps.target",  # targets, reports and who gets them
    "nps.report",
    "nps.reportsubscription",
    "surveys.contact",
    "surveys.customer",
    "surveys.interaction",
    "surveys.invitation",
    "surveys.response",
    "nps.webhooksubscription",  # outbound webhooks: the subscriptions and their log
    "nps.webhookdelivery",
}
PLUMBING = {
    "surveys.inboundmessage",
    "surveys.deliveryreceipt",
    "followups.digestdelivery",
    "axes.accessattempt",
}


def test_the_index_shows_each_role_what_it_works_with(people: Personas) -> None:
    assert index_models(people.agent) == CASES
    assert index_models(people.lead) == LEAD
    assert index_models(people.supervisor) == SUPERVISOR


def test_the_plumbing_is_shown_to_superusers_only(people: Personas) -> None:
    root = User.objects.create_superuser("root", password="pw")

    assert index_models(root) >= PLUMBING
    assert index_models(root) >= SUPERVISOR
