"""The pool and campaign pages: the figures shown against a pool and campaigns made by hand
(tests/care/pages_world.py), the CSV downloads, the filters, who sees what, empty states."""

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from care.models import Campaign, CampaignStatus, PoolMember, RiskModel
from care.reports import PoolFilters, effect_text, factor_text, pool_selected, pool_series
from tests.care.pages_world import PagesWorld, local_today, pages_world_make, risk_model_make
from tests.followups.personas import Personas, personas_make

pytestmark = pytest.mark.django_db

POOL, CAMPAIGNS = "/care/pool/", "/care/campaigns/"


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def world(people: Personas) -> PagesWorld:
    return pages_world_make(people)


def client_for(user: Any) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def figure(html: str, name: str) -> str:
    """The text of the element marked data-figure=name."""
    found = re.search(rf'data-figure="{re.escape(name)}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no figure {name}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def csv_rows(answer: Any) -> list[dict[str, str]]:
    assert answer["Content-Type"].startswith("text/csv")
    text = b"".join(answer.streaming_content if answer.streaming else [answer.content])
    return list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))


# ------------------------------------------------------------------ who may open them


@pytest.mark.parametrize("url", [POOL, CAMPAIGNS])
def test_anonymous_goes_to_the_login_page(url: str) -> None:
    answer = Client().get(url)
    assert answer.status_code == 302
    assert answer["Location"] == f"/admin/login/?next={url}"


@pytest.mark.parametrize("url", [POOL, CAMPAIGNS, f"{POOL}?export=members"])
def test_an_agent_is_refused(people: Personas, url: str) -> None:
    assert client_for(people.agent).get(url).status_code == 403


def test_an_agent_is_refused_a_campaign_too(people: Personas, world: PagesWorld) -> None:
    url = reverse("care-campaign", args=[world.winback.pk])
    assert client_for(people.agent).get(url).status_code == 403
    assert client_for(people.agent).get(url, {"export": "members"}).status_code == 403


def test_a_staff_member_without_a_role_is_refused(people: Personas) -> None:
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    assert client_for(nobody).get(POOL).status_code == 403


@pytest.mark.parametrize("role", ["lead", "supervisor"])
def test_leads_and_supervisors_open_both_pages(people: Personas, role: str) -> None:
    user = people.lead if role == "lead" else people.supervisor
    for url in (POOL, CAMPAIGNS):
        assert client_for(user).get(url).status_code == 200


# ------------------------------------------------------------------ the pool


def test_the_supervisor_sees_the_whole_pool(people: Personas, world: PagesWorld) -> None:
    html = client_for(people.supervisor).get(POOL).content.decode()

    assert figure(html, "customers") == "3"
    assert figure(html, "explicit") == "2"  # the SH customer's explicit stay has ended
    assert figure(html, "potential") == "2"
    assert figure(html, "reason-detractor") == "1"
    assert figure(html, "reason-complaint") == "1"
    assert figure(html, "reason-model") == "2"
    assert figure(html, "region-BJ") == "2"
    assert figure(html, "region-SH") == "1"
    assert figure(html, "tier-A") == "1"
    assert "+86138******01" in html
    assert "+8613800000001" not in html  # phones are masked


def test_a_lead_sees_the_pool_in_their_teams_regions_only(
    people: Personas, world: PagesWorld
) -> None:
    html = client_for(people.lead).get(POOL).content.decode()

    assert figure(html, "customers") == "2"
    assert figure(html, "potential") == "1"
    assert 'data-figure="region-SH"' not in html
    assert "+86138******03" not in html
    assert "your teams only" in html


def test_the_pool_filters_select_customers(people: Personas, world: PagesWorld) -> None:
    sue = client_for(people.supervisor)

    by_reason = sue.get(POOL, {"reason": "complaint"}).content.decode()
    by_risk = sue.get(POOL, {"min_risk": "0.7"}).content.decode()
    by_kind = sue.get(POOL, {"kind": "potential", "region": "SH"}).content.decode()

    assert figure(by_reason, "customers") == "1"
    assert "+86138******02" in by_reason
    assert figure(by_risk, "customers") == "1"
    assert "+86138******01" in by_risk
    assert figure(by_kind, "customers") == "1"
    assert "+86138******03" in by_kind


def test_a_filter_that_is_not_a_number_is_shown_and_ignored(
    people: Personas, world: PagesWorld
) -> None:
    answer = client_for(people.supervisor).get(POOL, {"min_risk": "high", "tier": "A"})
    html = answer.content.decode()

    assert answer.status_code == 200
    assert 'class="error"' in html
    assert figure(html, "customers") == "1"  # the tier filter still applies


def test_a_member_shows_their_reasons_score_and_factors_in_words(
    people: Personas, world: PagesWorld
) -> None:
    html = client_for(people.supervisor).get(POOL).content.decode()
    row = re.search(rf'<tr data-customer="{world.customers[0].pk}">(.*?)</tr>', html, re.S)
    assert row
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))

    assert "Detractor answer, Risk model" in text
    assert "Explicit, Potential" in text
    assert f"0.80 #{world.model.pk}" in text
    assert "Complaints in 90 days: 2 (raises the risk)" in text
    assert "ARPU change on the previous month (yuan): -35.5 (raises the risk)" in text
    assert local_today().isoformat() not in text  # entered 10 days ago, shown as a local date


def test_the_pool_csv_has_the_filtered_members_masked(people: Personas, world: PagesWorld) -> None:
    lead = client_for(people.lead)

    every = csv_rows(lead.get(POOL, {"export": "members"}))
    complaints = csv_rows(lead.get(POOL, {"export": "members", "reason": "complaint"}))

    # Riskiest first; a text cell starting with + is neutralised for spreadsheets (a quote).
    assert [r["customer"] for r in every] == ["'+86138******01", "'+86138******02"]
    assert every[0]["reasons"] == "Detractor answer; Risk model"
    assert every[0]["risk"] == "0.8"
    assert every[0]["risk_model"] == str(world.model.pk)
    assert every[0]["entered_at"].endswith("12:00:00+08:00")  # local time
    assert [r["customer"] for r in complaints] == ["'+86138******02"]
    assert client_for(people.lead).get(POOL, {"export": "nothing"}).status_code == 404


def test_the_size_over_time_counts_stays_open_at_each_local_days_end(world: PagesWorld) -> None:
    series = pool_series(PoolMember.objects.all(), end=local_today(), days=30)
    lines = {code: ys for code, _label, ys in series.lines}
    today = -1  # the last day of the series
    days_ago = lambda n: today - n  # noqa: E731

    # Detractor stays: BJ customer 1 (from 10 days ago); SH customer 3 (20 to 2 days ago);
    # the campaign's BJ customers (three of them, from 40 days ago to 10 or 12 days ago).
    assert lines["detractor"][days_ago(25)] == 3
    assert lines["detractor"][days_ago(15)] == 4
    assert lines["detractor"][days_ago(11)] == 3  # one left 12 days ago
    assert lines["detractor"][days_ago(10)] == 2  # two left, one entered 10 days ago
    assert lines["detractor"][days_ago(2)] == 1  # the SH stay left
    assert lines["complaint"][days_ago(4)] == 0
    assert lines["complaint"][days_ago(3)] == 1
    assert lines["model"][days_ago(5)] == 1
    assert lines["model"][today] == 2
    assert series.days[-1] == local_today()


def test_the_active_models_figures_and_lift_are_shown(people: Personas, world: PagesWorld) -> None:
    html = client_for(people.supervisor).get(POOL).content.decode()

    assert figure(html, "auc") == "0.780"
    assert figure(html, "top1") == "60%"
    assert figure(html, "top5") == "45%"
    assert figure(html, "lift1") == "1.5×"  # 0.60 / 0.40
    assert figure(html, "lift5") == "1.5×"  # 0.45 / 0.30
    assert 'data-empty="no-signal"' not in html


def test_a_model_without_a_signal_says_so(people: Personas) -> None:
    risk_model_make(has_signal=False)
    html = client_for(people.supervisor).get(POOL).content.decode()
    assert 'data-empty="no-signal"' in html
    assert "finds no signal" in html


def test_empty_pool_and_no_model_say_why(people: Personas) -> None:
    html = client_for(people.supervisor).get(POOL).content.decode()
    assert 'data-empty="pool"' in html
    assert 'data-empty="model"' in html
    assert figure(html, "customers") == "0"


def test_a_pool_everyone_left_is_not_called_empty(people: Personas, world: PagesWorld) -> None:
    PoolMember.objects.filter(left_at__isnull=True).update(left_at=world.model.validated_to)
    RiskModel.objects.update(is_active=False)
    html = client_for(people.supervisor).get(POOL).content.decode()
    assert 'data-empty="filtered"' in html
    assert 'data-empty="pool"' not in html
    assert 'data-empty="model"' in html


def test_pool_selected_keeps_a_customers_other_reasons(world: PagesWorld) -> None:
    stays = pool_selected(None, PoolFilters(reason="model", region="BJ"))
    assert sorted(stays.values_list("reason", flat=True)) == ["detractor", "model"]


# ------------------------------------------------------------------ campaigns


def test_the_list_shows_counts_and_what_worked(people: Personas, world: PagesWorld) -> None:
    html = client_for(people.supervisor).get(CAMPAIGNS).content.decode()
    row = re.search(rf'<tr data-campaign="{world.winback.pk}">(.*?)</tr>', html, re.S)
    assert row
    assert figure(row.group(1), "treated") == "4"
    assert figure(row.group(1), "control") == "3"
    assert figure(row.group(1), "participants") == "2 (50.0%)"
    assert "+6.8 points (95% interval +2.1 to +11.5), significant" in html
    assert "Spring care" in html
    assert "Everyone" in html
    assert "SMS offer, Care calls" in html
    assert "Value tier C" in html


def test_times_are_shown_in_local_time(people: Personas, world: PagesWorld) -> None:
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 07:30 on 3 November in Shanghai
    Campaign.objects.filter(pk=world.winback.pk).update(started_at=late)
    listed = client_for(people.supervisor).get(CAMPAIGNS).content.decode()
    detail = client_for(people.supervisor).get(reverse("care-campaign", args=[world.winback.pk]))

    assert "2026-11-03" in listed
    assert "2026-11-02" not in listed
    assert "2026-11-03 07:30" in detail.content.decode()


def test_a_lead_sees_the_campaigns_their_teams_call_for(
    people: Personas, world: PagesWorld
) -> None:
    lena = client_for(people.lead)
    listed = lena.get(CAMPAIGNS).content.decode()

    assert "Winback" in listed
    assert "Spring care" not in listed
    assert "+1.0 points" not in listed  # Spring care's result
    assert lena.get(reverse("care-campaign", args=[world.spring.pk])).status_code == 404
    spring_csv = {"export": "members"}
    assert lena.get(reverse("care-campaign", args=[world.spring.pk]), spring_csv).status_code == 404
    assert lena.get(reverse("care-campaign", args=[world.winback.pk])).status_code == 200


def test_a_finished_campaign_shows_the_operators_table_and_the_effects(
    people: Personas, world: PagesWorld
) -> None:
    url = reverse("care-campaign", args=[world.winback.pk])
    html = client_for(people.lead).get(url).content.decode()

    assert figure(html, "treated") == "4"
    assert figure(html, "control") == "3"
    assert figure(html, "contacted") == "3"
    assert figure(html, "skipped-contact_budget") == "1"
    assert "Contact budget for the customer used up" in html
    assert figure(html, "joined-keyword") == "1"
    assert figure(html, "joined-call") == "1"
    assert figure(html, "covered") == "4"
    assert figure(html, "participation-rate") == "50.0%"
    assert figure(html, "op-participants") == "2"
    assert figure(html, "before") == "55.0"
    assert figure(html, "after") == "75.0"
    assert figure(html, "control-before") == "50.0"
    assert figure(html, "control-after") == "56.7"
    did = figure(html, "did")
    assert did.startswith("+13.3 points (95% interval ")
    assert did.endswith("not distinguishable from no effect")
    assert figure(html, "nps-change").startswith("+75.0 NPS points")
    assert figure(html, "exit").startswith("+16.7 percentage points")  # 50% - 33.3%
    assert 'id="before-after-chart"' in html


def test_a_running_campaign_says_when_results_come(people: Personas, world: PagesWorld) -> None:
    url = reverse("care-campaign", args=[world.spring.pk])
    html = client_for(people.supervisor).get(url).content.decode()
    assert 'data-empty="evaluation"' in html
    assert figure(html, "waiting") == "2"


def test_the_campaign_csv_lists_its_members_masked(people: Personas, world: PagesWorld) -> None:
    url = reverse("care-campaign", args=[world.winback.pk])
    rows = csv_rows(client_for(people.supervisor).get(url, {"export": "members"}))

    assert len(rows) == 7
    assert sorted(r["group"] for r in rows) == ["control"] * 3 + ["treated"] * 4
    assert all(re.fullmatch(r"'\+86137\*+\d\d", r["customer"]) for r in rows)
    treated = [r for r in rows if r["group"] == "treated"]
    assert [(r["before_score"], r["after_score"]) for r in treated] == [
        ("5", "8"), ("6", "9"), ("4", "6"), ("7", "7")
    ]  # fmt: skip
    assert treated[3]["skipped_reason"] == "contact_budget"
    assert treated[0]["participation"] == "keyword"
    assert treated[0]["contacted_at"].endswith("+08:00")


def test_no_campaigns_says_how_they_come(people: Personas) -> None:
    html = client_for(people.supervisor).get(CAMPAIGNS).content.decode()
    assert 'data-empty="campaigns"' in html
    assert 'data-empty="results"' in html


def test_too_few_answers_give_no_effect(people: Personas, world: PagesWorld) -> None:
    world.winback.members.filter(arm="control").exclude(
        pk=world.winback.members.filter(arm="control").first().pk  # type: ignore[union-attr]
    ).update(after_score=None, before_score=None)
    Campaign.objects.filter(pk=world.winback.pk).update(status=CampaignStatus.FINISHED)
    url = reverse("care-campaign", args=[world.winback.pk])
    html = client_for(people.supervisor).get(url).content.decode()
    assert figure(html, "did").startswith("Too few answers to say")


# ------------------------------------------------------------------ words


def test_an_effect_reads_as_the_operators_would_say_it() -> None:
    assert effect_text(6.8, 2.1, 11.5, unit="points") == (
        "+6.8 points (95% interval +2.1 to +11.5), significant"
    )
    assert effect_text(1.0, -4.0, 6.0, unit="points") == (
        "+1.0 points (95% interval \u22124.0 to +6.0): not distinguishable from no effect"
    )
    assert effect_text(-3.0, -5.5, -0.5, unit="points").endswith("significant")


def test_a_factor_reads_in_words() -> None:
    assert factor_text({"feature": "visits_30d_hotline", "value": 4, "contribution": 0.2}) == (
        "Visits to Hotline in 30 days: 4 (raises the risk)"
    )
    assert factor_text({"feature": "tenure_days", "value": 900, "contribution": -0.1}) == (
        "Days as a customer: 900 (lowers the risk)"
    )


def test_the_dashboard_links_to_both_pages(people: Personas) -> None:
    html = client_for(people.supervisor).get("/dashboard/").content.decode()
    assert 'href="/care/pool/"' in html
    assert 'href="/care/campaigns/"' in html
