"""The dashboard page: who may see it, what each role sees, and what the filters select.

Expected figures are counted from the rows the builders created (tests/dashboard/builders.py).
"""

import re
from datetime import timedelta
from math import sqrt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.models import Team
from followups.permissions import roles_ensure
from followups.roles import SUPERVISORS
from nps.reporting.days import local_today
from nps.reporting.rebuild import rollups_rebuild
from surveys.interactions import interaction_record
from surveys.models import Category, ReasonCategory
from tests.dashboard.builders import (
    AT,
    PERIOD,
    URL,
    Data,
    client_for,
    figure,
    figures,
    links,
    page,
    section,
)
from tests.factories import SurveyFactory
from tests.reporting.test_rollups import local_day, response_create

# ---------------------------------------------------------------- who may see it


def test_anonymous_visitor_is_sent_to_the_login_page(db: Any) -> None:
    answer = Client().get(URL, PERIOD)

    assert answer.status_code == 302
    target = urlsplit(answer["Location"])
    assert target.path == "/admin/login/"
    assert parse_qs(target.query)["next"][0].startswith(URL)


def test_anonymous_visitor_gets_no_csv_either(db: Any) -> None:
    answer = Client().get(URL, {**PERIOD, "export": "headline"})

    assert answer.status_code == 302


def test_agent_is_refused_the_page_and_its_exports(data: Data) -> None:
    client = client_for(data.personas.agent)

    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "verbatims"}).status_code == 403


def test_staff_without_a_role_is_refused(data: Data) -> None:
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)

    assert client_for(nobody).get(URL).status_code == 403


def test_team_lead_who_is_not_staff_is_refused(data: Data) -> None:
    lead = data.personas.lead
    lead.is_staff = False
    lead.save()

    assert client_for(lead).get(URL).status_code == 403


def test_supervisor_who_is_not_staff_is_refused(db: Any) -> None:
    roles_ensure()
    user = User.objects.create_user("outsider", password="pw")
    user.groups.add(Group.objects.get(name=SUPERVISORS))

    assert client_for(user).get(URL).status_code == 403


def test_superuser_counts_as_a_supervisor(data: Data) -> None:
    admin = User.objects.create_superuser("root", password="pw")

    assert figures(page(client_for(admin))) == data.counts(data.rows)


# ---------------------------------------------------------------- what each role sees


def test_supervisor_sees_every_teams_figures_choices_and_verbatims(data: Data) -> None:
    html = page(client_for(data.personas.supervisor))

    assert figures(html) == data.counts(data.rows)
    for team in (data.personas.team, data.personas.other_team):
        assert f'<option value="{team.pk}">{team.name}</option>' in html
    assert "北区投诉24号" in html
    assert "南区投诉4号" in html
    assert "your teams only" not in html


def test_team_lead_sees_only_their_teams(data: Data) -> None:
    html = page(client_for(data.personas.lead))

    assert figures(html) == data.counts(data.select(team="North"))
    assert "your teams only" in html
    south = data.personas.other_team
    assert f'value="{south.pk}"' not in section(html, "filters")
    assert "South" not in html  # neither as a choice nor as a breakdown row
    assert "南区投诉" not in html  # South's verbatims
    assert 'value="S9"' not in html  # South's agent is not offered
    assert "SH" not in section(html, "by-region")


@pytest.mark.parametrize(
    "params",
    [
        {"team": "South"},
        {"region": "SH"},
        {"agent": "S9"},
    ],
    ids=["other-team", "other-region", "other-agent"],
)
def test_team_lead_cannot_reach_another_team_through_the_url(
    data: Data, params: dict[str, Any]
) -> None:
    if "team" in params:
        params["team"] = data.team_id(params["team"])
    html = page(client_for(data.personas.lead), **params)

    expected = data.select(team="North")
    if "region" in params or "agent" in params:  # a filter outside the scope selects nothing
        expected = []
    assert figures(html) == data.counts(expected)
    assert "南区投诉" not in html
    assert "South" not in html


def test_team_lead_of_two_teams_sees_both(data: Data) -> None:
    Team.objects.filter(pk=data.personas.other_team.pk).update(lead=data.personas.lead)

    html = page(client_for(data.personas.lead))

    assert figures(html) == data.counts(data.rows)
    assert "南区投诉4号" in html


# ---------------------------------------------------------------- filters in the URL


@pytest.mark.parametrize(
    "where",
    [
        {"touchpoint": "store_own"},
        {"channel": "web"},
        {"business_type": "broadband"},
        {"region": "BJ"},
        {"tier": "A"},
        {"agent": "E2"},
        {"touchpoint": "hotline", "agent": "E1"},
    ],
)
def test_filters_in_the_url_select_the_figures(data: Data, where: dict[str, str]) -> None:
    html = page(client_for(data.personas.supervisor), **where)

    expected = data.counts(data.select(**where))
    assert expected["responses"]  # each filter selects something, but not everything
    assert expected != data.counts(data.rows)
    assert figures(html) == expected
    # The form shows the choice and every CSV link carries it on.
    for name, value in where.items():
        assert re.search(rf'name="{name}"[^>]*>.*?<option value="{value}" selected>', html, re.S)
    csv_links = [href for href in links(html) if "export=" in href]
    assert csv_links
    for href in csv_links:
        query = parse_qs(urlsplit(href).query)
        assert all(query[name] == [value] for name, value in where.items())


def test_team_filter_selects_that_teams_figures(data: Data) -> None:
    html = page(client_for(data.personas.supervisor), team=data.team_id("South"))

    assert figures(html) == data.counts(data.select(team="South"))


def test_period_before_the_data_has_no_responses(data: Data) -> None:
    html = page(client_for(data.personas.supervisor), start="2026-02-01", end="2026-02-28")

    assert figures(html) == data.counts([])


def test_dates_win_over_the_preset_and_a_reversed_range_falls_back_to_it(data: Data) -> None:
    client = client_for(data.personas.supervisor)

    assert figures(page(client, preset="7")) == data.counts(data.rows)
    both_days = page(client, preset="7", start="2026-03-01")
    assert int(figure(both_days, "responses")) == len(data.rows) + len(data.previous)

    reversed_range = client.get(URL, {"start": "2026-03-02", "end": "2026-03-01"})
    html = reversed_range.content.decode()
    assert "The end date is before the start date." in html
    assert int(figure(html, "responses")) == 0  # the last 30 days: no data from March 2026


def selected_preset(html: str) -> str:
    """The value of the option the Period control shows as chosen."""
    start = html.index('name="preset"')
    control = html[start : html.index("</select>", start)]
    found = re.search(r'<option value="([^"]*)"[^>]*selected', control)
    assert found, "the Period control shows no choice"
    return found.group(1)


def form_values(html: str) -> dict[str, str]:
    """What the filter form submits as the page shows it (Apply without changes)."""
    form = html[html.index('id="filters"') : html.index("</form>", html.index('id="filters"'))]
    values = dict(re.findall(r'<input type="date" name="(\w+)"(?: value="([^"]*)")?', form))
    for name in re.findall(r'<select name="(\w+)"', form):
        control = form[form.index(f'<select name="{name}"') :]
        control = control[: control.index("</select>")]
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', control)
        first = re.search(r'<option value="([^"]*)"', control)
        values[name] = (chosen or first).group(1)  # a browser sends the first when none is
    return values


def period_shown(html: str) -> str:
    return re.search(r"(\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d)", html).group(1)


def test_the_period_control_shows_the_period_in_force(data: Data) -> None:
    client = client_for(data.personas.supervisor)

    default = client.get(URL).content.decode()
    assert selected_preset(default) == "30"  # the default, not the first choice (7 days)
    assert 'aria-current="true">Last 30 days' in default
    assert selected_preset(page(client, preset="7", start="", end="")) == "7"
    assert selected_preset(page(client)) == ""  # explicit dates win: "The dates below"
    assert "The dates below" in page(client)


@pytest.mark.parametrize("query", [{}, {"preset": "90"}, PERIOD])
def test_apply_without_changes_keeps_the_period(data: Data, query: dict[str, str]) -> None:
    client = client_for(data.personas.supervisor)
    first = client.get(URL, query).content.decode()

    again = client.get(URL, form_values(first)).content.decode()

    assert period_shown(again) == period_shown(first)
    assert selected_preset(again) == selected_preset(first)


def local_days_ago(days: int) -> Any:
    return timezone.now() - timedelta(days=days)


def test_presets_count_the_last_days_up_to_today(db: Any) -> None:
    roles_ensure()
    supervisor = User.objects.create_user("sue", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    ages = [0, 3, 6, 8, 20, 29, 31, 60, 89, 91, 120]
    moments = [local_days_ago(days) for days in ages]
    for moment in moments:
        response_create(at=moment, score=9)
    rollups_rebuild()
    today = local_today()
    days = [(today - local_day(m)).days for m in moments]
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    client = client_for(supervisor)

    for preset, length in [("7", 7), ("30", 30), ("90", 90)]:
        html = page(client, preset=preset, start="", end="")
        assert int(figure(html, "responses")) == sum(d < length for d in days), preset
    html = page(client, preset="quarter", start="", end="")
    in_quarter = sum(local_day(m) >= quarter_start for m in moments)
    assert int(figure(html, "responses")) == in_quarter
    assert 'aria-current="true">This quarter' in html


# ---------------------------------------------------------------- headline


def adjusted_wald(promoters: int, passives: int, detractors: int) -> float:
    n = promoters + passives + detractors + 3
    p, d = (promoters + 0.75) / n, (detractors + 0.75) / n
    return 1.96 * sqrt((p + d - (p - d) ** 2) / n) * 100


def test_at_the_minimum_sample_the_nps_and_its_margin_are_shown(data: Data) -> None:
    html = section(page(client_for(data.personas.lead)), "headline")

    north = data.counts(data.select(team="North"))
    assert north["responses"] == 30  # exactly the default minimum
    nps = 100 * (north["promoter"] - north["detractor"]) / 30
    moe = adjusted_wald(north["promoter"], north["passive"], north["detractor"])
    assert f'<span class="nps big">{nps:.0f}</span> <span class="moe">± {moe:.0f}</span>' in html
    assert "Needs at least" not in html.split("Previous period")[0]


def test_below_the_minimum_sample_no_number_is_shown(data: Data) -> None:
    html = page(client_for(data.personas.supervisor), region="SH")

    headline = section(html, "headline").split("Previous period")[0]
    assert "Needs at least 30 answers; 10 so far" in headline
    assert 'class="nps' not in headline
    assert "No comparison" in html
    region_row = section(html, "by-region")
    assert "Needs at least 30 answers; 10 so far" in region_row
    assert "<svg" not in region_row  # no whisker for a figure not shown


def test_a_lower_minimum_sample_setting_shows_the_small_sample(data: Data, settings: Any) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 10

    html = section(page(client_for(data.personas.supervisor), region="SH"), "headline")

    assert '<span class="nps big">-40</span>' in html
    assert "Needs at least" not in html.split("Previous period")[0]


def test_change_against_the_previous_period_and_its_significance(data: Data) -> None:
    html = section(page(client_for(data.personas.lead)), "headline")

    # North: 40 today, 100 (30 promoters) the day before.
    assert float(figure(html, "change")) == -60.0
    assert "<strong>-60</strong>" in html
    assert '<span class="badge sig">significant</span>' in html


# ---------------------------------------------------------------- reasons and verbatims


def test_a_reason_links_to_its_verbatims(data: Data) -> None:
    client = client_for(data.personas.supervisor)
    html = page(client)
    reasons = section(html, "reasons")
    network = ReasonCategory.objects.get(code="network")
    assert network.name_en in reasons
    (href,) = [h for h in links(reasons) if "reason=network" in h]
    assert parse_qs(urlsplit(href).query)["start"] == [PERIOD["start"]]

    filtered = client.get(URL + href.split("#")[0]).content.decode()

    verbatims = section(filtered, "verbatims")
    assert f"Verbatims: {network.name_en}" in verbatims
    north = [r.comment for r in data.select(team="North") if r.comment]
    assert north
    assert all(comment in verbatims for comment in north)
    assert "南区投诉" not in verbatims
    assert 'class="selected"' in section(filtered, "reasons")


def test_verbatims_are_the_detractors_comments_linked_to_their_cases(data: Data) -> None:
    verbatims = section(page(client_for(data.personas.supervisor)), "verbatims")

    commented = [r for r in data.rows if r.comment]
    assert all(r.category == Category.DETRACTOR for r in commented)
    assert verbatims.count("<tr>") - 1 == len(commented)  # one row each, after the header
    # Answered at 04:00 UTC: shown at 12:00, in the reporting zone of the period's days.
    assert "<td>2026-03-02 12:00</td>" in verbatims
    assert "04:00" not in verbatims
    for case in data.cases:
        if case.response.comment:
            link = reverse("admin:followups_case_change", args=[case.pk])
            assert f'href="{link}"' in verbatims


# ---------------------------------------------------------------- long tables


def test_a_long_breakdown_shows_its_first_rows_in_the_chosen_order_and_says_so(
    data: Data, settings: Any
) -> None:
    settings.NPS_DASHBOARD_BREAKDOWN_ROWS = 2
    by_agent = {a: len(data.select(agent=a)) for a in ("E1", "E2", "S9")}
    largest_first = sorted(by_agent, key=lambda a: (-by_agent[a], a))

    agents = section(page(client_for(data.personas.supervisor), sort="-n"), "by-agent")

    shown = re.findall(r"<tr>\s*<td>([^<]+)</td>", agents)
    assert shown == largest_first[:2]
    assert "The first 2 of 3, in this order; the CSV has them all." in agents
    touchpoints = section(page(client_for(data.personas.supervisor)), "by-touchpoint")
    assert "the CSV has them all" not in touchpoints  # two touchpoints: nothing left out


def test_the_page_shows_the_latest_verbatims_and_the_csv_goes_further(
    data: Data, settings: Any
) -> None:
    settings.NPS_DASHBOARD_VERBATIMS = 3
    client = client_for(data.personas.supervisor)
    commented = [r for r in data.rows if r.comment and r.category == Category.DETRACTOR]
    assert len(commented) > 3

    verbatims = section(page(client), "verbatims")
    download = client.get(URL, {**PERIOD, "export": "verbatims"}).content.decode()

    assert verbatims.count('<td class="comment">') == 3
    assert download.count("投诉") == len(commented)


def test_a_backfilled_interaction_is_listed_as_not_surveyed_too_old(data: Data) -> None:
    SurveyFactory()
    # Posted now about a day in March: the survey's maximum age has long passed.
    interaction_record(
        external_id="BACKFILL-1",
        customer={"phone": "13800138077", "region": "BJ"},
        touchpoint="hotline",
        occurred_at=AT,
    )
    rollups_rebuild()

    funnel = section(page(client_for(data.personas.supervisor)), "funnel")
    too_old = "Interaction older than the survey&#x27;s maximum age"
    assert re.search(rf"<td>{too_old}</td><td[^>]*>1</td>", funnel)


def test_an_empty_period_says_why_each_widget_is_empty_and_what_would_fill_it(data: Data) -> None:
    html = page(client_for(data.personas.supervisor), start="2026-02-01", end="2026-02-28")

    assert "No answers in this period. They appear as customers answer the surveys" in html
    assert "No interactions recorded in this period." in section(html, "funnel")
    assert "No cases opened in this period." in section(html, "closed-loop")
    assert "Reasons are read from the comments" in section(html, "reasons")
    assert "They appear when a detractor answers the question why." in section(html, "verbatims")


def test_a_trend_without_enough_answers_says_how_many_a_point_needs(data: Data) -> None:
    html = section(page(client_for(data.personas.supervisor), region="SH"), "trend")

    assert "Each point needs at least 30 answers in its day; the most so far is 10." in html
    assert "Needs at least 30 answers; 10 so far" in html
