"""The demo data that `manage.py up` loads: idempotent, deterministic, a dashboard with
something to show, and every login works."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from followups.models import Agent, Case, CaseStatus, Team
from nps.demo_cases import DEMO_PRICE_PER_SEGMENT
from nps.demo_history import history_seed
from nps.management.commands.seed_demo import DEMO_PASSWORD
from nps.reporting.contract import Filters
from nps.reporting.days import local_today
from nps.reporting.queries import funnel, nps_breakdown, nps_counts, nps_trend, send_costs
from nps.reporting.stats import change, estimate
from surveys.models import Customer, Interaction, Purpose, Response, Survey

pytestmark = pytest.mark.django_db


def test_seeding_twice_creates_everything_once() -> None:
    call_command("seed_demo", "--no-history")
    call_command("seed_demo", "--no-history")
    assert Survey.objects.count() == 1
    assert Team.objects.count() == 3
    assert Agent.objects.count() == 6
    assert all(team.lead is not None for team in Team.objects.all())
    assert list(Team.objects.filter(is_default_route=True).values_list("name", flat=True)) == [
        "National callback team"
    ]


def test_the_demo_has_a_tibetan_speaking_agent_on_the_default_route() -> None:
    call_command("seed_demo", "--no-history")
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
    call_command("seed_demo", "--no-history")
    # through the login page, as staff do (the lockout backend needs the request)
    login = client.post("/admin/login/", {"username": username, "password": DEMO_PASSWORD})
    assert login.status_code == 302
    assert client.get(page).status_code == 200


def test_demo_api_token_records_an_interaction(client: Client, settings: Any) -> None:
    from nps.management.commands.seed_demo import DEMO_TOKEN

    call_command("seed_demo", "--no-history")
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


def _days(days: int, *, ending_days_ago: int = 0) -> Filters:
    """The `days` local days ending `ending_days_ago` days before today."""
    end = local_today() - timedelta(days=ending_days_ago)
    return Filters(start=end - timedelta(days=days - 1), end=end)


def test_the_seeded_history_gives_the_dashboard_its_figures_once() -> None:
    call_command("seed_demo")
    counts = {model: model.objects.count() for model in (Interaction, Response, Case)}
    call_command("seed_demo")  # idempotent: nothing more
    assert {model: model.objects.count() for model in counts} == counts

    # The dashboard's default period (the last 30 days) against the 30 days before.
    current, previous = _days(30), _days(30, ending_days_ago=30)
    headline = estimate(nps_counts(current))
    assert headline.sufficient
    assert 0 < headline.moe < 10  # an NPS with its margin of error, in points
    moved = change(nps_counts(current), nps_counts(previous))
    assert moved is not None
    assert moved.significant
    assert moved.points > 0
    trend = nps_trend(_days(90), granularity="week")
    assert len(trend) >= 12
    assert all(counts.n > 0 for _, counts in trend)
    for dimension in ("team", "tier", "touchpoint", "region"):
        groups = nps_breakdown(current, dimension=dimension)
        assert len(groups) >= 3, dimension
        assert min(group.n for _, group in groups) >= 30, (dimension, groups)
    flow = funnel(current)
    assert flow.interactions > flow.sent > flow.delivered > flow.responded > 0
    assert flow.suppressed
    # The SMS cost table has figures: every survey SMS sent is priced, in segments.
    costs = send_costs(current)
    assert costs.sms >= flow.sent
    assert costs.unpriced == 0
    assert costs.segments >= costs.sms
    assert costs.cost["CNY"] == DEMO_PRICE_PER_SEGMENT * costs.segments
    assert costs.recovered > 0


def test_the_seeded_history_has_cases_in_every_state_and_verified_ones() -> None:
    call_command("seed_demo")
    statuses = set(Case.objects.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values)
    assert Case.objects.filter(held_since__isnull=False).exists()
    assert Case.objects.filter(recovered=True).exists()
    assert Case.objects.filter(recovered=False).exists()
    assert Response.objects.filter(invitation__purpose=Purpose.VERIFICATION).exists()
    assert set(Customer.objects.values_list("language", flat=True)) >= {"zh-hans", "en", "bo"}


def _fingerprint() -> list[tuple[Any, ...]]:
    # Sorted on every value: two answers of one customer at one time (a survey and a
    # verification) would otherwise come back in whatever order the database likes.
    return sorted(
        Response.objects.values_list(
            "customer__phone", "score", "comment", "created_at", "interaction__touchpoint"
        )
    )


def test_the_seeded_history_is_the_same_each_time() -> None:
    call_command("seed_demo", "--no-history")
    survey = Survey.objects.get()
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with transaction.atomic():
        history_seed(survey=survey, now=now)
        first = _fingerprint()
        transaction.set_rollback(True)
    assert not Response.objects.exists()
    history_seed(survey=survey, now=now)
    assert len(first) > 2000
    assert _fingerprint() == first
