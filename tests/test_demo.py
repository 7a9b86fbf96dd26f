"""The demo data that `manage.py up` loads: idempotent, and every login works."""

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from followups.models import Agent, Team
from nps.management.commands.seed_demo import DEMO_PASSWORD
from surveys.models import Survey

pytestmark = pytest.mark.django_db


def test_seeding_twice_creates_everything_once() -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    assert Survey.objects.count() == 1
    assert Team.objects.count() == 3
    assert Agent.objects.count() == 6
    assert all(team.lead is not None for team in Team.objects.all())
    assert list(Team.objects.filter(is_default_route=True).values_list("name", flat=True)) == [
        "National callback team"
    ]


def test_the_demo_has_a_tibetan_speaking_agent_on_the_default_route() -> None:
    call_command("seed_demo")
    speakers = [agent for agent in Agent.objects.select_related("team") if "bo" in agent.languages]
    assert [(a.team.name, a.team.is_default_route) for a in speakers] == [
        ("National callback team", True)
    ]


@pytest.mark.parametrize(
    ("username", "page"),
    [
        ("admin", "/admin/"),
        ("supervisor", "/admin/followups/case/"),
        ("north_lead", "/admin/followups/case/"),
        ("north1", "/admin/followups/case/mine/"),
    ],
)
def test_every_demo_login_reaches_its_page(client: Client, username: str, page: str) -> None:
    call_command("seed_demo")
    # through the login page, as staff do (the lockout backend needs the request)
    login = client.post("/admin/login/", {"username": username, "password": DEMO_PASSWORD})
    assert login.status_code == 302
    assert client.get(page).status_code == 200


def test_demo_api_token_records_an_interaction(client: Client, settings: Any) -> None:
    from nps.management.commands.seed_demo import DEMO_TOKEN

    call_command("seed_demo")
    answer = client.post(
        "/api/v1/interactions/",
        {
            "external_id": "DEMO-1",
            "customer": {"phone": "13800138000"},
            "touchpoint": "hotline",
            "occurred_at": "2026-11-22T08:00:00Z",
        },
        content_type="application/json",
        headers={"Authorization": f"Token {DEMO_TOKEN}"},
    )
    assert answer.status_code == 201
